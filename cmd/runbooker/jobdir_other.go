//go:build !linux

package main

// defaultJobDir keeps job directories in the system temp dir.
func defaultJobDir() string { return "" }
