import { makeCmdLine } from './cmd-line.js';

// CMD_LINE_WIN: AWS's text for it was not obtained (unconfirmed). Our reading: CMD_LINE tuned for cmd.exe,
// where ^ is the escape character and " the quote, but \ is the path separator and must survive
// (C:\Windows\System32). So it deletes " ' ^ and keeps \; everything else is as CMD_LINE.

export const cmdLineWin = makeCmdLine({ deleted: '"\'^' });
