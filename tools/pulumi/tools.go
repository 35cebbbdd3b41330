//go:build tools

// Package tools pins the Go programs `make tools` builds into .tools/bin.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
