// The discrepancy classes and states: no imports, so the console's client components can use them.
export const DISCREPANCY_CLASSES = [
  'order_missing', // bill paid, no such order, our out_trade_no prefix: P1
  'external_trade', // bill paid, not an order of ours at all
  'local_unpaid', // bill paid, ours unpaid or closed: automatic
  'duplicate_payment', // a second payment of a paid order: late-payment policy
  'missing_in_bill', // ours paid, absent from the bills after the window
  'amount_mismatch',
  'external_refund', // refund in the bill, not ours: imported
  'refund_state', // refund status differs: queried
  'fee_mismatch', // billed fee replaces our estimate
  'bill_unavailable', // bill missing or unparseable after the retry window
] as const;
export type DiscrepancyClass = (typeof DISCREPANCY_CLASSES)[number];

export const DISCREPANCY_STATES = ['open', 'auto_resolved', 'received', 'ignored', 'force_posted'] as const;
export type DiscrepancyState = (typeof DISCREPANCY_STATES)[number];

/**
 * Classes a person may force-post: book WeChat's payment in our ledger by rebuilding the order from a query
 * (a lost order whose automatic rebuild failed, or a trade someone decides is ours). Frozen orders are
 * settled by the order's review, not here.
 */
export const FORCE_POSTABLE_CLASSES = ['order_missing', 'external_trade'] as const satisfies readonly DiscrepancyClass[];
