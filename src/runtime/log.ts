import { pino, type Logger } from 'pino';

/** The default when no logger is passed: the composition root owns real logging. */
export const silentLogger: Logger = pino({ level: 'silent' });
