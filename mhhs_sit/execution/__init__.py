"""Running a case: the step engine, step kinds, the runtime that talks to the DIP, and the local stubs."""
