#!/usr/bin/env node
// zabkit-server: until the server issue lands there is no server to run; say so and fail.
process.stderr.write('zabkit-server: no server is built yet (see the open server issue); nothing was started.\n');
process.exit(1);
