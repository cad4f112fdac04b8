import { makeCmdLine } from './cmd-line.js';

// CMD_LINE_UNIX: AWS's text for it was not obtained (unconfirmed). Our reading: CMD_LINE tuned for POSIX
// shells, where \ " ' are the escape/quote characters (c\at, c"a"t, 'c'at) but ^ is an ordinary byte.
// So it deletes \ " ' and keeps ^; everything else is as CMD_LINE.

export const cmdLineUnix = makeCmdLine({ deleted: '\\"\'' });
