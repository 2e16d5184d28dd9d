'use client';
// The reconciliation console: the discrepancy inbox, the daily settlement report (three columns side by
// side), the month (a chart and the same figures as a table, CSV) and a manual run with its progress.
import { useTranslations } from 'next-intl';
import { useState } from 'react';
import { Button } from '../../_components/ui';
import { Inbox } from './inbox';
import { DayReportView } from './day-report';
import { MonthView } from './month-view';
import { RunPanel } from './run-panel';

const TABS = ['inbox', 'report', 'month'] as const;

export function ReconciliationView({ canManage }: { canManage: boolean }) {
  const t = useTranslations('reconciliation');
  const [tab, setTab] = useState<(typeof TABS)[number]>('inbox');
  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">{t('title')}</h1>
      <div role="tablist" aria-label={t('title')} className="flex flex-wrap gap-1">
        {TABS.map((k) => (
          <Button key={k} role="tab" aria-selected={tab === k} data-testid={`tab-${k}`} variant={tab === k ? 'primary' : 'secondary'} onClick={() => setTab(k)}>
            {t(`tabs.${k}`)}
          </Button>
        ))}
      </div>
      {tab === 'inbox' ? <Inbox canManage={canManage} /> : null}
      {tab === 'report' ? <DayReportView /> : null}
      {tab === 'month' ? <MonthView /> : null}
      {canManage ? <RunPanel /> : null}
    </div>
  );
}
