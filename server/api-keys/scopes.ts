// What an API key may do. One list: the REST routes declare one of these, the console offers them.
import { z } from 'zod';

export const API_SCOPES = ['orders:read', 'orders:write', 'refunds:write', 'webhooks:manage'] as const;
export type ApiScope = (typeof API_SCOPES)[number];
export const ApiScopeSchema = z.enum(API_SCOPES);
