//go:build !windows

package sandbox

// nativeDecode is nil where programs write UTF-8: a line that is not valid
// UTF-8 keeps U+FFFD for its bad bytes.
var nativeDecode func(string) string
