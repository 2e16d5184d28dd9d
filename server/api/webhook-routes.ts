export const WEBHOOK_ROUTES = [];
