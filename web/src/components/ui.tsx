import type { ReactNode } from 'react';
import { ApiError } from '../api/client';
import { useI18n } from '../i18n';
import { useRealtimeStatus } from '../realtime/RealtimeProvider';

/** An indeterminate progress bar with a label (for loads that take a while). */
export function Loading({ testId = 'loading', label }: { testId?: string; label?: string }) {
  const { t } = useI18n();
  return (
    <div className="loading" role="progressbar" aria-busy="true" data-testid={testId}>
      <div className="loading-bar" />
      <span>{label ?? t('common.loading')}</span>
    </div>
  );
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function ErrorBox({ error, testId = 'error', onRetry }: { error: unknown; testId?: string; onRetry?: () => void }) {
  const { t } = useI18n();
  if (!error) return null;
  return (
    <div className="error-box" role="alert" data-testid={testId}>
      <span>{errorText(error)}</span>
      {onRetry && (
        <button type="button" onClick={onRetry} data-testid={`${testId}-retry`}>
          {t('common.retry')}
        </button>
      )}
    </div>
  );
}

export function FieldError({ testId, children }: { testId: string; children?: ReactNode }) {
  if (!children) return null;
  return (
    <div className="field-error" role="alert" data-testid={testId}>
      {children}
    </div>
  );
}

export function RealtimeBadge() {
  const { t } = useI18n();
  const { status, detail } = useRealtimeStatus();
  return (
    <span className={`badge rt rt-${status.toLowerCase()}`} data-testid="realtime-status" data-status={status} title={detail ?? ''}>
      <span className="dot" />
      {t(`rt.${status}`)}
    </span>
  );
}

export function Card({ title, children, testId, actions }: { title?: ReactNode; children: ReactNode; testId?: string; actions?: ReactNode }) {
  return (
    <section className="card" data-testid={testId}>
      {(title || actions) && (
        <header className="card-head">
          {title && <h2>{title}</h2>}
          {actions}
        </header>
      )}
      {children}
    </section>
  );
}
