// Package modfile reads the files tenants upload as modules: PowerShell
// module folders (a zip of what Save-Module writes, or a .nupkg) and Python
// wheels. It finds their name and version without running anything and
// unpacks them, refusing archives that would write outside their directory
// or expand past the limits (zip bombs).
package modfile

import (
	"archive/zip"
	"bytes"
	"encoding/xml"

	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/runbooker/runbooker"
)

// Limits bound what an archive may expand to.
type Limits struct {
	MaxFiles int   // entries in the archive (default 20,000)
	MaxBytes int64 // uncompressed bytes in all (default 1 GiB)
}

func (l Limits) orDefault() Limits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = 20000
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 1 << 30
	}
	return l
}

// Info is what an uploaded file says of itself.
type Info struct {
	Kind    runbooker.ModuleKind
	Name    string
	Version string
	// Root is the archive directory holding the PowerShell module's
	// manifest ("" for the archive's root); unpacking puts its contents
	// under <Name>/<Version>/. Empty for wheels.
	Root string
	// Requires are a wheel's unconditional Requires-Dist dependencies:
	// the name, or name==version for an exact pin (dependencies of extras
	// are left out).
	Requires []string
}

func invalid(format string, args ...any) error {
	return runbooker.Errorf(runbooker.EINVALID, format, args...)
}

// open checks every entry's name, count and declared size before anything
// is read.
func open(data []byte, lim Limits) (*zip.Reader, error) {
	lim = lim.orDefault()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, invalid("the file is not a zip archive (a module zip, .nupkg or .whl): %v", err)
	}
	if len(zr.File) > lim.MaxFiles {
		return nil, invalid("the archive holds %d entries, more than the %d allowed", len(zr.File), lim.MaxFiles)
	}
	var total uint64
	for _, f := range zr.File {
		if err := checkName(f.Name); err != nil {
			return nil, err
		}
		total += f.UncompressedSize64
		if total > uint64(lim.MaxBytes) {
			return nil, invalid("the archive expands to more than %d bytes", lim.MaxBytes)
		}
	}
	return zr, nil
}

// checkName refuses entry names that would leave the unpack directory.
func checkName(name string) error {
	n := strings.ReplaceAll(name, `\`, "/")
	if n == "" || strings.HasPrefix(n, "/") || strings.ContainsRune(n, 0) || (len(n) > 1 && n[1] == ':') {
		return invalid("the archive entry %q has an absolute or empty path", name)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return invalid("the archive entry %q climbs out of its directory (..)", name)
		}
	}
	return nil
}

// Inspect reads an uploaded file's kind, name and version. fileName (the
// upload's name, may be empty) tells a wheel from a module by its .whl
// ending; without it, an archive with a *.dist-info/METADATA is a wheel.
func Inspect(data []byte, fileName string, lim Limits) (Info, error) {
	zr, err := open(data, lim)
	if err != nil {
		return Info{}, err
	}
	if strings.HasSuffix(strings.ToLower(fileName), ".whl") || findMetadata(zr) != nil {
		return inspectWheel(zr, fileName)
	}
	return inspectPowerShell(zr)
}

// readEntry reads an entry, at most max bytes (what the header says is
// not trusted).
func readEntry(f *zip.File, max int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, invalid("cannot read %q in the archive: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, invalid("cannot read %q in the archive: %v", f.Name, err)
	}
	if int64(len(b)) > max {
		return nil, invalid("%q in the archive is larger than %d bytes", f.Name, max)
	}
	return b, nil
}

const maxManifest = 1 << 20

// wheelName is PEP 427's {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl.
var wheelName = regexp.MustCompile(`^([A-Za-z0-9_.]+)-([A-Za-z0-9_.!+]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$`)

func findMetadata(zr *zip.Reader) *zip.File {
	for _, f := range zr.File {
		dir, file := path.Split(f.Name)
		if file == "METADATA" && strings.Count(dir, "/") == 1 && strings.HasSuffix(dir, ".dist-info/") {
			return f
		}
	}
	return nil
}

func inspectWheel(zr *zip.Reader, fileName string) (Info, error) {
	info := Info{Kind: runbooker.ModulePython}
	if m := wheelName.FindStringSubmatch(path.Base(strings.ReplaceAll(fileName, `\`, "/"))); m != nil {
		info.Name, info.Version = m[1], m[2]
	}
	if f := findMetadata(zr); f != nil {
		b, err := readEntry(f, maxManifest)
		if err != nil {
			return Info{}, err
		}
		name, version, requires := metadataFields(b)
		info.Requires = requires
		if name != "" {
			info.Name = name
		}
		if version != "" {
			info.Version = version
		}
	} else if info.Name == "" {
		return Info{}, invalid("the wheel has no *.dist-info/METADATA and its file name is not {name}-{version}-{python}-{abi}-{platform}.whl")
	}
	if info.Name == "" || info.Version == "" {
		return Info{}, invalid("the wheel's METADATA names no Name or Version")
	}
	return info, checkNameVersion(info)
}

// metadataFields reads Name, Version and Requires-Dist from a wheel's
// METADATA (RFC 822 headers; the body after the first blank line is the
// description).
func metadataFields(b []byte) (name, version string, requires []string) {
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "name":
			if name == "" {
				name = strings.TrimSpace(v)
			}
		case "version":
			if version == "" {
				version = strings.TrimSpace(v)
			}
		case "requires-dist":
			if r := requiresDist(v); r != "" && len(requires) < 200 {
				requires = append(requires, r)
			}
		}
	}
	return name, version, requires
}

var leadingName = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._\-]{0,127})`)

// requiresDist is PEP 508's name [extras] (spec) ; marker, loosely.
var requiresDist = func() func(string) string {
	re := regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._\-]{0,127})\s*(?:\[[^\]]*\])?\s*\(?\s*(==\s*[A-Za-z0-9._!+\-]+)?\s*\)?\s*$`)
	return func(v string) string {
		spec, marker, _ := strings.Cut(v, ";")
		if strings.Contains(strings.ReplaceAll(marker, " ", ""), "extra==") {
			return "" // only with an extra the runbook cannot ask for
		}
		m := re.FindStringSubmatch(spec)
		if m == nil {
			// a range (>=, ~=, …): any uploaded version will do
			n := leadingName.FindStringSubmatch(spec)
			if n == nil {
				return ""
			}
			return n[1]
		}
		if m[2] != "" {
			return m[1] + "==" + strings.TrimSpace(strings.TrimPrefix(m[2], "=="))
		}
		return m[1]
	}
}()

func inspectPowerShell(zr *zip.Reader) (Info, error) {
	info := Info{Kind: runbooker.ModulePowerShell}
	// A .nupkg: the .nuspec at the root names id and version.
	for _, f := range zr.File {
		if !strings.Contains(f.Name, "/") && strings.HasSuffix(strings.ToLower(f.Name), ".nuspec") {
			b, err := readEntry(f, maxManifest)
			if err != nil {
				return Info{}, err
			}
			var spec struct {
				Metadata struct {
					ID      string `xml:"id"`
					Version string `xml:"version"`
				} `xml:"metadata"`
			}
			if err := xml.Unmarshal(b, &spec); err != nil {
				return Info{}, invalid("the .nuspec %q cannot be read: %v", f.Name, err)
			}
			info.Name, info.Version = strings.TrimSpace(spec.Metadata.ID), strings.TrimSpace(spec.Metadata.Version)
		}
	}
	// The manifest: <Name>.psd1, shallowest first (Save-Module writes
	// <Name>/<Version>/<Name>.psd1).
	var manifest *zip.File
	for _, f := range zr.File {
		dir, file := path.Split(f.Name)
		if !strings.HasSuffix(strings.ToLower(file), ".psd1") {
			continue
		}
		base := strings.TrimSuffix(file, path.Ext(file))
		if info.Name != "" && !strings.EqualFold(base, info.Name) {
			continue
		}
		if manifest == nil || strings.Count(dir, "/") < strings.Count(manifest.Name, "/") {
			manifest = f
		}
	}
	if manifest == nil {
		return Info{}, invalid("the archive holds no PowerShell module manifest (<Name>.psd1) and is not a wheel")
	}
	dir, file := path.Split(manifest.Name)
	info.Root = strings.TrimSuffix(dir, "/")
	if info.Name == "" {
		info.Name = strings.TrimSuffix(file, path.Ext(file))
	}
	if info.Version == "" {
		b, err := readEntry(manifest, maxManifest)
		if err != nil {
			return Info{}, err
		}
		info.Version = manifestVersion(b)
		if info.Version == "" {
			// Save-Module's folder: <Name>/<Version>/<Name>.psd1.
			if v := path.Base(info.Root); info.Root != "" && versionLike.MatchString(v) {
				info.Version = v
			}
		}
	}
	if info.Version == "" {
		return Info{}, invalid("the manifest %q has no ModuleVersion", manifest.Name)
	}
	return info, checkNameVersion(info)
}

var (
	psdVersion  = regexp.MustCompile(`(?im)^\s*ModuleVersion\s*=\s*['"]?([0-9][0-9A-Za-z.\-]*)['"]?`)
	versionLike = regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,3}([-+][0-9A-Za-z.\-]+)?$`)
	safeName    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$`)
	safeVersion = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_.!+\-]{0,63}$`)
)

func manifestVersion(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if m := psdVersion.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

// CheckNameVersion refuses names and versions that would not make a safe
// directory name or a readable message.
func CheckNameVersion(name, version string) error {
	if !safeName.MatchString(name) || strings.Contains(name, "..") {
		return invalid("module name %q: letters, digits, '.', '-' and '_' only, at most 128", name)
	}
	if !safeVersion.MatchString(version) || strings.Contains(version, "..") {
		return invalid("module version %q: letters, digits and '.', '-', '_', '+', '!' only, at most 64", version)
	}
	return nil
}

func checkNameVersion(i Info) error { return CheckNameVersion(i.Name, i.Version) }

// Unpack writes the archive into dir (which must not exist yet; it is made
// by Unpack): a wheel as it is (dir goes on PYTHONPATH), a PowerShell
// module's contents under dir/<Name>/<Version>/ (dir goes on
// PSModulePath). Files are 0644, directories 0755; links are not made.
func Unpack(data []byte, info Info, dir string, lim Limits) error {
	lim = lim.orDefault()
	zr, err := open(data, lim)
	if err != nil {
		return err
	}
	dest := dir
	root := ""
	if info.Kind == runbooker.ModulePowerShell {
		if err := checkNameVersion(info); err != nil {
			return err
		}
		dest = filepath.Join(dir, info.Name, info.Version)
		if info.Root != "" {
			root = info.Root + "/"
		}
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	var written int64
	for _, f := range zr.File {
		name := strings.ReplaceAll(f.Name, `\`, "/")
		if !strings.HasPrefix(name, root) {
			continue
		}
		rel := strings.TrimPrefix(name, root)
		if rel == "" || (info.Kind == runbooker.ModulePowerShell && nupkgPackaging(rel)) {
			continue
		}
		if info.Kind == runbooker.ModulePython {
			var ok bool
			if rel, ok = wheelPath(rel); !ok {
				continue
			}
		}
		target := filepath.Join(dest, filepath.FromSlash(rel))
		if !strings.HasPrefix(target, dest+string(filepath.Separator)) {
			return invalid("the archive entry %q leaves its directory", f.Name)
		}
		if strings.HasSuffix(name, "/") || f.Mode().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		}
		if !f.Mode().IsRegular() {
			continue // links and devices are never made
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		n, err := writeEntry(f, target, lim.MaxBytes-written)
		if err != nil {
			return err
		}
		written += n
	}
	return nil
}

// wheelData is a wheel's <name>.data/<scheme>/ directory.
var wheelData = regexp.MustCompile(`^[^/]+\.data/([^/]+)/(.*)$`)

// wheelPath is where a wheel's entry goes in its importable directory:
// as it is, or out of .data/purelib and .data/platlib, as pip installs
// them; the other .data schemes (scripts, headers, data) are left out.
func wheelPath(rel string) (string, bool) {
	m := wheelData.FindStringSubmatch(rel)
	if m == nil {
		return rel, true
	}
	if (m[1] == "purelib" || m[1] == "platlib") && m[2] != "" {
		return m[2], true
	}
	return "", false
}

// nupkgPackaging reports NuGet's own files, which are no part of the module.
func nupkgPackaging(rel string) bool {
	l := strings.ToLower(rel)
	return l == "[content_types].xml" || strings.HasPrefix(l, "_rels/") || strings.HasPrefix(l, "package/") ||
		(!strings.Contains(l, "/") && strings.HasSuffix(l, ".nuspec"))
}

func writeEntry(f *zip.File, target string, budget int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, invalid("cannot read %q in the archive: %v", f.Name, err)
	}
	defer rc.Close()
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("unpacking %q: %w", f.Name, err)
	}
	if n > budget {
		return n, invalid("the archive expands to more than its limit")
	}
	return n, nil
}
