import { redirect } from 'next/navigation';
import { processDeps } from '@/server/deps';
import { setupNeeded } from '@/server/auth/setup';
import { SetupForm } from './setup-form';

export default async function SetupPage() {
  if (!(await setupNeeded(processDeps().db))) redirect('/admin/sign-in');
  return (
    <main id="main" className="mx-auto max-w-md px-4 py-10">
      <SetupForm />
    </main>
  );
}
