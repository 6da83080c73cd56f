import type { Lang } from './i18n';

const number = new Intl.NumberFormat('ko-KR');
const krwSymbol = new Intl.NumberFormat('ko-KR', { style: 'currency', currency: 'KRW' });
const percent = new Intl.NumberFormat('ko-KR', { style: 'percent', minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero' });

/** "71,300원" (ko) or "₩71,300" (en). */
export function krw(value: number | null | undefined, lang: Lang = 'ko'): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  return lang === 'ko' ? `${number.format(value)}원` : krwSymbol.format(value);
}

export function num(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  return number.format(value);
}

/** A decimal fraction (0.0123) as "+1.23%". */
export function pct(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return '—';
  return percent.format(fraction);
}

/** A change rate already in percent (1.23) as "+1.23%". */
export function pctPoints(points: number | null | undefined): string {
  return points === null || points === undefined ? '—' : pct(points / 100);
}

export function signClass(value: number | null | undefined): string {
  if (!value) return '';
  return value > 0 ? 'up' : 'down';
}

export function dateTime(iso: string | null | undefined, lang: Lang = 'ko'): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(lang === 'ko' ? 'ko-KR' : 'en-GB', { hour12: false });
}
