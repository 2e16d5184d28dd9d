// The Payments API (/api/v1/…): every method goes to the one runner over the route table (server/api).
import { handleApiRequest } from '@/server/api/handler';
import { processDeps } from '@/server/deps';

export const dynamic = 'force-dynamic';

const handle = (req: Request) => handleApiRequest(processDeps(), req);
export { handle as DELETE, handle as GET, handle as PATCH, handle as POST };
