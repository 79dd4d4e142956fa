import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router-dom';
import { ApiError, get, getOptional, post } from '../api.js';
import { useAuth } from '../auth.jsx';
import DueBadge from '../components/DueBadge.jsx';
import ErrorNote from '../components/ErrorNote.jsx';
import SchemaForm, { serverErrors, shown, submittable } from '../components/SchemaForm.jsx';
import { definitionName, loadDefinitions } from '../definitions.js';
import { formatTime } from '../format.js';
import { useLoad } from '../useLoad.js';
import { waitingLines } from '../waiting.js';

// No new user task: what the case now waits for (other co-signers, another step's task, an
// external system, a message), from its activities; the general sentence without them.
function WaitingNow({ result }) {
  const { t, i18n } = useTranslation();
  const active = result.instance_status === 'active';
  const standing = useLoad(
    () => (active ? getOptional(`/process-instances/${result.process_instance_id}/activities`) : Promise.resolve(null)),
    [result.process_instance_id, active],
  );
  if (!active) return null;
  if (standing.loading) return <p className="muted">{t('common.loading')}</p>;
  const lines = standing.data?.activities
    ? waitingLines(standing.data.activities, t, (v) => formatTime(v, i18n.language)) : [];
  if (lines.length === 0) return <p className="muted">{t('task.nextNone')}</p>;
  return (
    <ul data-testid="waiting-now">
      {lines.map((line, i) => <li key={i}>{line}</li>)}
    </ul>
  );
}

function NextTasks({ result }) {
  const { t } = useTranslation();
  const { me } = useAuth();
  return (
    <section className="card" aria-live="polite" data-testid="next-tasks">
      <h2>{t('task.completed')} {t('task.instanceStatus', { status: t(`cases.statuses.${result.instance_status}`, result.instance_status) })}</h2>
      <h3>{t('task.nextTasks')}</h3>
      {result.next_tasks.length === 0 ? (
        <WaitingNow result={result} />
      ) : (
        <ul>
          {result.next_tasks.map((task) => {
            const mine = task.candidate_groups.some((g) => me.groups.includes(g))
              || task.candidate_users.includes(me.user_id) || task.assignee === me.user_id;
            return (
              <li key={task.id}>
                {mine ? <Link to={`/tasks/${task.id}`}>{task.name}</Link> : task.name}{' '}
                <span className="muted">{task.lane} · {task.candidate_groups.join(', ')}</span>
              </li>
            );
          })}
        </ul>
      )}
      <p><Link to="/inbox">{t('task.backToInbox')}</Link> · <Link to={`/cases/${result.process_instance_id}`}>{t('task.case')}</Link></p>
    </section>
  );
}

// A task that ended before the page loaded (a bookmark, a reload after completing it): the
// service answers 409 with the task's case, who ended it and when in its details.
function EndedTask({ error }) {
  const { t, i18n } = useTranslation();
  const d = error.details || {};
  const when = d.ended_at ? formatTime(d.ended_at, i18n.language) : null;
  const how = d.end_reason === 'completed' ? 'completedBy' : 'cancelledAt';
  return (
    <section className="card" data-testid="task-ended">
      {d.name && <p className="muted">{d.name}</p>}
      <h1>{t('task.ended')}</h1>
      {when && <p>{t(`task.ended_${how}`, { user: d.completed_by || '—', time: when })}</p>}
      <p>
        {d.process_instance_id && <><Link to={`/cases/${d.process_instance_id}`}>{t('task.case')}</Link> · </>}
        <Link to="/inbox">{t('task.backToInbox')}</Link>
      </p>
    </section>
  );
}

export default function TaskPage() {
  const { taskId } = useParams();
  const { t } = useTranslation();
  const { me } = useAuth();
  const task = useLoad(() => get(`/tasks/${taskId}`), [taskId]);
  // The process's name as the inbox shows it; the key until (or unless) the list answers.
  const definitions = useLoad(() => loadDefinitions(), []);
  const [values, setValues] = useState(null);
  const [fieldErrors, setFieldErrors] = useState({});
  const [error, setError] = useState(null);
  const [result, setResult] = useState(null);
  const [busy, setBusy] = useState(false);

  async function act(path) {
    setError(null);
    setBusy(true);
    try {
      await post(`/tasks/${taskId}/${path}`);
      task.reload();
    } catch (e) {
      setError(e instanceof ApiError && e.status === 409 && e.details?.assignee
        ? { message: t('task.lostRace', { user: e.details.assignee }) } : e);
      task.reload();
    } finally {
      setBusy(false);
    }
  }

  async function complete(formData) {
    if (busy) return;
    setError(null);
    setFieldErrors({});
    setBusy(true);
    try {
      const variables = submittable(task.data.form, formData);
      setResult(await post(`/tasks/${taskId}/complete`, { variables }));
    } catch (e) {
      const byField = e instanceof ApiError ? e.fieldErrors() : {};
      if (e.status === 422 && Object.keys(byField).length > 0) {
        setFieldErrors(byField);
        setError({ invalid: true, message: t('task.formErrors', { count: Object.keys(byField).length }) });
      } else if (e instanceof ApiError && (e.status === 403 || e.status === 409)) {
        // The task changed hands (given back, claimed or completed by someone else) while it
        // was being filled in: say so and show it as it is now; the typed values stay.
        setError({ message: t('task.changedMeanwhile') });
        task.reload();
      } else {
        setError(e);
      }
    } finally {
      setBusy(false);
    }
  }

  // Arriving at a task (after a claim, from a link) the keyboard goes where the work is: the
  // first field the user can fill in when the task is theirs, else the task's heading.
  const heading = useRef(null);
  const arrived = task.data ? `${task.data.id}:${task.data.assignee === me.user_id}` : null;
  useEffect(() => {
    if (!arrived) return;
    const field = document.querySelector(
      '#task-form :is(input, select, textarea):not([readonly]):not([disabled]):not([type=hidden])',
    );
    (arrived.endsWith(':true') && field ? field : heading.current)?.focus();
  }, [arrived]);

  if (result) return <NextTasks result={result} />;
  if (task.error instanceof ApiError && task.error.status === 409) return <EndedTask error={task.error} />;
  if (task.error) return <ErrorNote error={task.error} />;
  if (!task.data) return <p className="muted">{t('common.loading')}</p>;
  const data = task.data;
  const mine = data.assignee === me.user_id;
  // A supervisor overseeing every lane opens tasks not offered to them: no claim to offer there
  // (the service would refuse it), as in the inbox.
  const offered = me.roles?.admin || data.candidate_users.includes(me.user_id)
    || data.candidate_groups.some((g) => me.groups.includes(g));
  const formData = values ?? shown(data.variables, data.form);

  return (
    <section>
      <p><Link to="/inbox">← {t('task.backToInbox')}</Link></p>
      <h1 ref={heading} tabIndex={-1}>{data.name}</h1>
      <dl className="facts">
        <div><dt>{t('inbox.businessKey')}</dt><dd>{data.business_key}</dd></div>
        <div><dt>{t('inbox.process')}</dt><dd data-testid="task-process" title={data.process_definition_key}>{definitionName(definitions.data, data.process_definition_key)}</dd></div>
        <div><dt>{t('inbox.lane')}</dt><dd>{data.lane || '—'}</dd></div>
        <div><dt>{t('inbox.due')}</dt><dd><DueBadge task={data} /></dd></div>
        <div><dt>{t('inbox.assignee')}</dt><dd data-testid="assignee">{data.assignee || '—'}</dd></div>
        <div><dt>{t('inbox.group')}</dt><dd>{data.candidate_groups.join(', ')}</dd></div>
      </dl>
      <p><Link to={`/cases/${data.process_instance_id}`}>{t('task.case')}</Link></p>
      <ErrorNote error={error} />
      {!data.assignee && offered && <p className="notice">{t('task.claimFirst')}</p>}
      {!data.assignee && !offered && <p className="notice" data-testid="not-offered">{t('task.notOffered')}</p>}
      {data.assignee && !mine && <p className="notice">{t('task.notYours', { user: data.assignee })}</p>}
      <div className="actions">
        {!data.assignee && offered && (
          <button type="button" className="primary" disabled={busy} onClick={() => act('claim')}>{t('task.claim')}</button>
        )}
        {(mine || (data.assignee && me.roles.supervisor)) && (
          <button type="button" disabled={busy} onClick={() => act('unclaim')}>{t('task.unclaim')}</button>
        )}
      </div>
      <div className="card">
        <SchemaForm
          id="task-form"
          schema={data.form}
          formData={formData}
          onChange={setValues}
          onSubmit={complete}
          onError={(errors) => setError({ invalid: true, message: t('task.formErrors', { count: errors.length }) })}
          disabled={!mine || busy}
          extraErrors={serverErrors(fieldErrors)}
        />
        {mine && (
          <div className="actions">
            <button type="submit" form="task-form" className="primary" disabled={busy}>{t('task.complete')}</button>
          </div>
        )}
      </div>
    </section>
  );
}
