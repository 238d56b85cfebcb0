"""``mhhs-sit`` and its sub-commands; each module turns arguments into calls on the library."""
