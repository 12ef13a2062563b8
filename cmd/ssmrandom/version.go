package main

import (
	"runtime/debug"

	"github.com/nordunet/ssmrandom/internal/buildinfo"
)

func init() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	version = buildinfo.Version(version, info)
}
