import { useTranslation } from 'react-i18next';
import { dueState, formatTime } from '../format.js';

export default function DueBadge({ task }) {
  const { t, i18n } = useTranslation();
  const state = dueState(task);
  if (state === 'none') return <span className="muted">{t('due.none')}</span>;
  return (
    <span className="due">
      <span className={`badge badge-${state}`}>{t(`due.${state}`)}</span>{' '}
      <time dateTime={task.due_at}>{formatTime(task.due_at, i18n.language)}</time>
    </span>
  );
}
