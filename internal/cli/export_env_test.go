package cli

// EnvExport is the line pixie env writes for shell to set name to value.
func EnvExport(shell, name, value string) string { return envShells[shell](name, value) }
