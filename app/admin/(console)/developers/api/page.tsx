// The API reference, rendered from the same OpenAPI document /api/v1/openapi.json serves.
import { getTranslations } from 'next-intl/server';
import { can } from '@/server/auth/permissions';
import { openApiDocument } from '@/server/api/openapi';
import { loadEnv } from '@/server/env';
import { requireAdmin } from '../../../_lib/require';
import { Forbidden } from '../../forbidden';

type Json = Record<string, any>;

function typeOf(schema: Json | undefined): string {
  if (!schema) return '';
  if (schema.$ref) return String(schema.$ref).split('/').pop()!;
  if (schema.enum) return schema.enum.join(' | ');
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  return schema.type ?? 'object';
}

export default async function ApiReferencePage() {
  const { session } = await requireAdmin();
  const role = session.user.role;
  if (!(can(role, 'keys:view') || can(role, 'webhooks:view'))) return <Forbidden role={role} />;
  const t = await getTranslations('developers.reference');
  const doc = openApiDocument(loadEnv().appUrl) as Json;
  const ops = Object.entries(doc.paths as Json).flatMap(([path, item]) =>
    Object.entries(item as Json).map(([method, op]) => ({ path, method: method.toUpperCase(), op: op as Json })),
  );
  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">{t('heading')}</h1>
      <p className="text-sm text-neutral-700">
        {t('intro')}{' '}
        <a className="font-medium text-emerald-800 underline" href="/api/v1/openapi.json">
          openapi.json
        </a>
      </p>
      <p className="text-sm">
        <code>{doc.servers[0].url}</code>
      </p>
      {ops.map(({ path, method, op }) => (
        <section key={`${method} ${path}`} className="rounded-lg border border-neutral-200 bg-white p-4" aria-labelledby={`op-${op.operationId}`}>
          <h2 id={`op-${op.operationId}`} className="font-mono text-sm font-semibold">
            {method} {path}
          </h2>
          <p className="text-sm">{op.summary}</p>
          <p className="text-xs text-neutral-700">
            {t('scope')}: <code>{op['x-scope']}</code>
          </p>
          {op.parameters?.length ? (
            <table className="mt-2 w-full text-left text-xs">
              <caption className="text-left font-medium">{t('parameters')}</caption>
              <tbody>
                {op.parameters.map((p: Json) => (
                  <tr key={`${p.in}-${p.name}`} className="border-t border-neutral-100">
                    <td className="py-1 font-mono">{p.name}</td>
                    <td>{p.in}</td>
                    <td>{typeOf(p.schema)}</td>
                    <td>{p.required ? t('required') : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {op.requestBody ? (
            <p className="mt-2 text-xs">
              {t('body')}: <code>{typeOf(op.requestBody.content['application/json'].schema)}</code>
            </p>
          ) : null}
          <ul className="mt-2 text-xs">
            {Object.entries(op.responses as Json).map(([status, r]) => (
              <li key={status}>
                <code>{status}</code> {(r as Json).description}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}
