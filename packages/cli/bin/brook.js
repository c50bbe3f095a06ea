#!/usr/bin/env -S node --single-threaded-gc
// --single-threaded-gc: V8 collects garbage on the main thread, not on helper threads that compete with
// the other processes for the cores; it must be given on the command line (docs/decisions.md).
import "../dist/main.js";
