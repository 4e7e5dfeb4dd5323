#!/usr/bin/env node
// The `meshguard` command. A committed file rather than dist/bin.js itself, so package managers can
// link the command before the workspace is built (dist/ does not exist in a fresh clone).
import '../dist/bin.js'
