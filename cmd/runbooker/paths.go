package main

import (
	"os"
	"runtime"
)

// defaultDir is where a folder of Runbooker's (the data directory, a
// worker's state) goes unless a flag names one: ./name on Unix; on Windows
// %ProgramData%\Runbooker\name, because a service's working directory is
// C:\Windows\System32. The folder itself is made private (package privdir).
func defaultDir(name string) string {
	return defaultDirOn(runtime.GOOS, os.Getenv("ProgramData"), name)
}

// defaultDirOn is defaultDir for an operating system and ProgramData value.
func defaultDirOn(goos, programData, name string) string {
	if goos != "windows" {
		return "./" + name
	}
	return windowsDataRoot(programData) + `\` + name
}

// windowsDataRoot is Runbooker's folder under ProgramData.
func windowsDataRoot(programData string) string {
	if programData == "" {
		programData = `C:\ProgramData`
	}
	// Not filepath.Join: this runs on every system in tests.
	return programData + `\Runbooker`
}
