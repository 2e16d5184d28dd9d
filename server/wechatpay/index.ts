// Public surface of the WeChat Pay protocol layer. Import from '@/server/wechatpay' rather than from the
// individual modules, so the split between files stays an internal detail.
export * from './crypto';
export * from './verifier';
export * from './time';
export * from './errors';
export * from './schemas';
export * from './client';
export * from './notification';
export * from './bill';
export * from './certificates';
