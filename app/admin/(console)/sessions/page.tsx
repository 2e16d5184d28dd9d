import { SessionsView } from './sessions-view';

export default function SessionsPage() {
  return <SessionsView />;
}
