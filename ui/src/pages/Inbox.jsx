// The inbox: one GET /tasks per page (filters and sorts of the API), one cached definitions list
// for process names; never a request per row.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { ApiError, get, post } from '../api.js';
import { useAuth } from '../auth.jsx';
import DueBadge from '../components/DueBadge.jsx';
import ErrorNote from '../components/ErrorNote.jsx';
import Pager from '../components/Pager.jsx';
import { definitionName, loadDefinitions } from '../definitions.js';
import { formatTime } from '../format.js';
import { useFilterDraft } from '../useFilterDraft.js';
import { useLoad } from '../useLoad.js';

const VIEWS = ['unclaimed', 'mine', 'all'];
// Supervisors and admins also oversee every open task, whoever it is offered to.
const OVERSIGHT = 'oversee';

// Whether the user may claim the task: it is offered to them or one of their groups (admins:
// any), the service's rule; in the oversight view the others are only opened.
function offeredTo(task, me) {
  return me.roles?.admin || task.candidate_users.includes(me.user_id)
    || task.candidate_groups.some((g) => me.groups.includes(g));
}
const SORTS = ['created', '-created', 'due', '-priority', 'name'];
const PAGE = 50;

export default function Inbox() {
  const { t, i18n } = useTranslation();
  const { me } = useAuth();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const oversees = Boolean(me.roles?.supervisor || me.roles?.admin);
  const views = oversees ? [...VIEWS, OVERSIGHT] : VIEWS;
  const view = views.includes(params.get('view')) ? params.get('view') : 'unclaimed';
  const filters = {
    process_definition_key: params.get('process') || '',
    business_key: params.get('business_key') || '',
    candidate_group: params.get('group') || '',
    due_before: params.get('due_before') || '',
    // Oversight is for chasing overdue work: earliest due first unless another sort is chosen.
    sort: SORTS.includes(params.get('sort')) ? params.get('sort') : (view === OVERSIGHT ? 'due' : 'created'),
  };
  const offset = Number(params.get('offset')) || 0;
  // The form's fields, by their names in the address.
  const [draft, edit, sending] = useFilterDraft({
    process: filters.process_definition_key, business_key: filters.business_key,
    group: filters.candidate_group, due_before: filters.due_before, sort: filters.sort,
  });
  const [claimError, setClaimError] = useState(null);
  // The task whose claim is under way: the claim buttons are disabled until the answer is back,
  // so that a double click claims once (as the task page's buttons are while they run).
  const [claiming, setClaiming] = useState(null);

  const definitions = useLoad(() => loadDefinitions(), []);
  // The answer carries the query it answers, so a stale page is never taken for the new one.
  const query = params.toString();
  const page = useLoad(
    () => get('/tasks', {
      ...filters,
      due_before: filters.due_before ? new Date(`${filters.due_before}T00:00:00+08:00`).toISOString() : '',
      assignee: view === 'mine' ? me.user_id : '',
      unassigned: view === 'unclaimed' ? 'true' : '',
      oversee: view === OVERSIGHT ? 'true' : '',
      limit: PAGE,
      offset,
    }).then((answer) => ({ ...answer, query })),
    [query, me.user_id],
  );

  function update(changes) {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === '' || v === null || v === undefined) next.delete(k);
      else next.set(k, v);
    }
    if (!('offset' in changes)) next.delete('offset');
    setParams(next);
  }

  function submitFilters(event) {
    event.preventDefault();
    const asked = { ...draft, business_key: draft.business_key.trim() };
    sending(asked);
    update(asked);
  }

  async function claim(task) {
    setClaiming(task.id);
    setClaimError(null);
    try {
      await post(`/tasks/${task.id}/claim`);
      navigate(`/tasks/${task.id}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        setClaimError({ message: t('task.lostRace', { user: e.details?.assignee || '?' }) });
        page.reload();
      } else {
        setClaimError(e);
      }
    } finally {
      setClaiming(null);
    }
  }

  return (
    <section>
      <h1>{t('inbox.title')}</h1>
      <div className="tabs" role="tablist">
        {views.map((v) => (
          <button key={v} type="button" role="tab" aria-selected={view === v}
            className={view === v ? 'tab active' : 'tab'} onClick={() => update({ view: v })}>
            {t(`inbox.${v}`)}
          </button>
        ))}
      </div>
      <form className="filters" onSubmit={submitFilters}>
        <label>{t('inbox.process')}
          <select name="process" value={draft.process} onChange={edit('process')}>
            <option value="">{t('common.all')}</option>
            {(definitions.data || []).map((d) => <option key={d.key} value={d.key}>{d.name || d.key}</option>)}
          </select>
        </label>
        <label>{t('inbox.businessKey')}
          <input name="business_key" value={draft.business_key} onChange={edit('business_key')} maxLength={128} />
        </label>
        <label>{t('inbox.group')}
          <select name="group" value={draft.group} onChange={edit('group')}>
            <option value="">{t('common.all')}</option>
            {me.groups.map((g) => <option key={g} value={g}>{g}</option>)}
          </select>
        </label>
        <label>{t('inbox.dueBefore')}
          <input type="date" name="due_before" value={draft.due_before} onChange={edit('due_before')} />
        </label>
        <label>{t('inbox.sort')}
          <select name="sort" value={draft.sort} onChange={edit('sort')}>
            {SORTS.map((s) => <option key={s} value={s}>{t(`inbox.sorts.${s}`)}</option>)}
          </select>
        </label>
        <button type="submit" className="primary">{t('common.apply')}</button>
      </form>
      <ErrorNote error={claimError || page.error} />
      {page.loading && !page.data && <p className="muted">{t('common.loading')}</p>}
      {page.data && page.data.items.length === 0 && <p className="muted" data-testid="inbox-empty" data-query={page.data.query}>{t('inbox.empty')}</p>}
      {page.data && page.data.items.length > 0 && (
        <table className="grid stack" data-testid="inbox" data-query={page.data.query} aria-busy={page.loading}>
          <thead>
            <tr>
              <th scope="col">{t('inbox.task')}</th>
              <th scope="col">{t('inbox.businessKey')}</th>
              <th scope="col">{t('inbox.process')}</th>
              <th scope="col">{t('inbox.lane')}</th>
              <th scope="col">{t('inbox.due')}</th>
              <th scope="col">{t('inbox.created')}</th>
              <th scope="col">{t('inbox.assignee')}</th>
              <th scope="col"><span className="sr-only">{t('common.details')}</span></th>
            </tr>
          </thead>
          <tbody>
            {page.data.items.map((task) => (
              <tr key={task.id} data-task={task.element_id}>
                <td className="cell-title"><Link to={`/tasks/${task.id}`}>{task.name}</Link></td>
                <td data-label={t('inbox.businessKey')}>{task.business_key}</td>
                <td data-label={t('inbox.process')}>{definitionName(definitions.data, task.process_definition_key)}</td>
                <td data-label={t('inbox.lane')}>{task.lane}</td>
                <td data-label={t('inbox.due')}><DueBadge task={task} /></td>
                <td data-label={t('inbox.created')}><time dateTime={task.created_at}>{formatTime(task.created_at, i18n.language)}</time></td>
                <td data-label={t('inbox.assignee')}>{task.assignee || '—'}</td>
                <td className="cell-action">
                  {task.assignee || !offeredTo(task, me) ? (
                    <Link className="button" to={`/tasks/${task.id}`}>{t('inbox.open')}</Link>
                  ) : (
                    <button type="button" disabled={claiming !== null} aria-busy={claiming === task.id}
                      onClick={() => claim(task)}>{t('inbox.claim')}</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager page={page.data} onOffset={(o) => update({ offset: o || '' })} />
    </section>
  );
}
