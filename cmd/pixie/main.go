// Command pixie gets, keeps and uses OAuth 2.0 tokens: see pixie --help.
package main

import (
	"os"

	"github.com/pixieauth/pixie/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
