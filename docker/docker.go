// Package docker holds tokenemu's container image recipe, docker/Dockerfile:
// FROM scratch with the static binary, so that building it pulls nothing.
package docker

import _ "embed"

//go:embed Dockerfile
var dockerfile []byte

// Dockerfile returns the text of docker/Dockerfile. It expects the static
// binary as "tokenemu" beside it in the build context.
func Dockerfile() []byte { return append([]byte(nil), dockerfile...) }
