// Tests that need only the database use the process's dependencies, as a transport would.
import type { Db } from '@/db/client';
import { closeProcessDeps, processDeps } from '@/server/deps';

export const getDb = (): Db => processDeps().db;
export const closeDb = (): Promise<void> => closeProcessDeps();
