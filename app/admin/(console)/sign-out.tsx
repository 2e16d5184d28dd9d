'use client';
import { authCall } from '../_lib/auth-client';
import { Button } from '../_components/ui';

export function SignOutButton({ label }: { label: string }) {
  return (
    <Button
      variant="secondary"
      onClick={async () => {
        await authCall('/sign-out', {});
        window.location.assign('/admin/sign-in');
      }}
    >
      {label}
    </Button>
  );
}
