package sandbox

import (
	"golang.org/x/text/encoding/charmap"
)

// codePageDecoder returns a function that reads text in a Windows code page
// (the OEM or ANSI code page that native Windows tools write to pipes in),
// or nil for a code page it does not know (the multi-byte ones of East
// Asia among them: their lines keep U+FFFD for what is not UTF-8).
func codePageDecoder(cp uint32) func(string) string {
	cm := codePages[cp]
	if cm == nil {
		return nil
	}
	return func(s string) string {
		// A single-byte code page maps every byte: decoding cannot fail.
		out, err := cm.NewDecoder().String(s)
		if err != nil {
			return s
		}
		return out
	}
}

// codePages are the single-byte Windows code pages by number: the OEM code
// pages of the console and the ANSI ones of the GUI.
var codePages = map[uint32]*charmap.Charmap{
	437: charmap.CodePage437, 850: charmap.CodePage850, 852: charmap.CodePage852, 855: charmap.CodePage855,
	858: charmap.CodePage858, 860: charmap.CodePage860, 862: charmap.CodePage862, 863: charmap.CodePage863,
	865: charmap.CodePage865, 866: charmap.CodePage866, 874: charmap.Windows874,
	1250: charmap.Windows1250, 1251: charmap.Windows1251, 1252: charmap.Windows1252, 1253: charmap.Windows1253,
	1254: charmap.Windows1254, 1255: charmap.Windows1255, 1256: charmap.Windows1256, 1257: charmap.Windows1257,
	1258: charmap.Windows1258, 20866: charmap.KOI8R, 21866: charmap.KOI8U, 28591: charmap.ISO8859_1,
	28592: charmap.ISO8859_2, 28605: charmap.ISO8859_15,
}
