// What a case waits for, from GET /process-instances/{id}/activities: user tasks with holder and
// due date, external tasks with their lock and retries, messages with the variables they may
// carry, timers with their due time, failures; nested inside subprocesses and multi-instance bodies.
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { formatTime } from '../format.js';
import DueBadge from './DueBadge.jsx';

// The variables a message may carry: names, or {name, ...} items, or a name -> description map.
function variableNames(variables) {
  if (!variables) return [];
  if (Array.isArray(variables)) return variables.map((v) => (typeof v === 'string' ? v : v?.name)).filter(Boolean);
  return Object.keys(variables);
}

function Detail({ node }) {
  const { t, i18n } = useTranslation();
  const time = (v) => (v ? <time dateTime={v}>{formatTime(v, i18n.language)}</time> : '–');
  switch (node.kind) {
    case 'user_task':
      return (
        <>
          <div>
            {node.task_id ? <Link to={`/tasks/${node.task_id}`}>{t('waits.openTask')}</Link> : null}{' '}
            {node.assignee
              ? t('waits.heldBy', { user: node.assignee })
              : t('waits.offeredTo', { groups: (node.candidate_groups || []).join(', ') || '–' })}
          </div>
          <div><DueBadge task={{ due_at: node.due }} /></div>
        </>
      );
    case 'external_task':
      return (
        <>
          <div>{t('waits.topic')}: <code>{node.topic}</code></div>
          <div>
            {node.lock_owner
              ? <>{t('waits.lockedBy', { worker: node.lock_owner })} · {t('waits.lockUntil')} {time(node.lock_expires)}</>
              : node.retries === 0 ? t('waits.noRetries') : t('waits.unlocked')}
          </div>
          <div>{t('waits.retries')}: {node.retries ?? '–'}</div>
        </>
      );
    case 'message_wait':
      return (
        <>
          <div>{t('waits.message')}: <code>{node.message_name}</code></div>
          {node.variables == null
            ? <div className="muted">{t('waits.carriesAny')}</div>
            : variableNames(node.variables).length > 0 && (
              <div>{t('waits.carries')}: {variableNames(node.variables).map((v) => <code key={v} className="chip-code">{v}</code>)}</div>
            )}
        </>
      );
    case 'timer':
      return <div>{t('waits.fires')} {time(node.due)}</div>;
    case 'failed':
      return <div className="field-error">{node.error}</div>;
    case 'join':
      // An older server does not say which branches (waiting_for).
      return node.waiting_for?.length ? (
        <div className="muted" data-testid="join-waits-for">
          {t('waits.joinFor')}: {node.waiting_for.map((id) => <code key={id} className="chip-code">{id}</code>)}
        </div>
      ) : <div className="muted">{t('waits.joinHint')}</div>;
    default:
      return null;
  }
}

function Node({ node }) {
  const { t, i18n } = useTranslation();
  return (
    <li data-element={node.element_id} data-kind={node.kind}>
      <div className="activity">
        <span className={`badge kind-${node.kind}`}>{t(`waits.kinds.${node.kind}`, node.kind)}</span>{' '}
        {node.event_subprocess && <span className="badge kind-event_subprocess">{t('waits.kinds.event_subprocess')}</span>}{' '}
        <strong>{node.name || node.element_id}</strong> <code className="muted">{node.element_id}</code>
        {node.lane && <span className="muted"> · {node.lane}</span>}
        {node.since && <span className="muted"> · {t('waits.since')} {formatTime(node.since, i18n.language)}</span>}
        <Detail node={node} />
      </div>
      {node.children?.length > 0 && (
        <ul className="activities">
          {node.children.map((child, i) => <Node key={`${child.element_id}-${i}`} node={child} />)}
        </ul>
      )}
    </li>
  );
}

export default function WaitsFor({ activities }) {
  const { t } = useTranslation();
  if (!activities.length) return <p className="muted">{t('waits.nothing')}</p>;
  return (
    <ul className="activities" data-testid="waits-for">
      {activities.map((node, i) => <Node key={`${node.element_id}-${i}`} node={node} />)}
    </ul>
  );
}
