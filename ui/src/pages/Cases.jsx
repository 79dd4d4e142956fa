// Case search: by business key, process and status; one GET /process-instances per page.
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { get } from '../api.js';
import ErrorNote from '../components/ErrorNote.jsx';
import Pager from '../components/Pager.jsx';
import { definitionName, loadDefinitions } from '../definitions.js';
import { formatTime } from '../format.js';
import { useFilterDraft } from '../useFilterDraft.js';
import { useLoad } from '../useLoad.js';

const STATUSES = ['active', 'completed', 'cancelled'];

export default function Cases() {
  const { t, i18n } = useTranslation();
  const [params, setParams] = useSearchParams();
  const definitions = useLoad(() => loadDefinitions(), []);
  // The answer carries the query it answers, as the inbox's does.
  const query = params.toString();
  const page = useLoad(() => get('/process-instances', {
    key: params.get('process'), status: params.get('status'), business_key: params.get('business_key'),
    offset: params.get('offset'), limit: 50,
  }).then((answer) => ({ ...answer, query })), [query]);
  const [draft, edit, sending] = useFilterDraft({
    business_key: params.get('business_key') || '', process: params.get('process') || '',
    status: params.get('status') || '',
  });

  function submit(event) {
    event.preventDefault();
    const next = {};
    for (const [name, typed] of Object.entries(draft)) {
      const value = typed.trim();
      if (value) next[name] = value;
    }
    sending(Object.fromEntries(Object.keys(draft).map((name) => [name, next[name] || ''])));
    setParams(next);
  }

  return (
    <section>
      <h1>{t('cases.title')}</h1>
      <form className="filters" onSubmit={submit}>
        <label>{t('inbox.businessKey')}
          <input name="business_key" value={draft.business_key} onChange={edit('business_key')} maxLength={128} />
        </label>
        <label>{t('inbox.process')}
          <select name="process" value={draft.process} onChange={edit('process')}>
            <option value="">{t('common.all')}</option>
            {(definitions.data || []).map((d) => <option key={d.key} value={d.key}>{d.name || d.key}</option>)}
          </select>
        </label>
        <label>{t('cases.status')}
          <select name="status" value={draft.status} onChange={edit('status')}>
            <option value="">{t('common.all')}</option>
            {STATUSES.map((s) => <option key={s} value={s}>{t(`cases.statuses.${s}`)}</option>)}
          </select>
        </label>
        <button type="submit" className="primary">{t('cases.search')}</button>
      </form>
      <ErrorNote error={page.error} />
      {page.data && page.data.items.length === 0 && <p className="muted" data-testid="cases-empty" data-query={page.data.query}>{t('cases.empty')}</p>}
      {page.data && page.data.items.length > 0 && (
        <table className="grid" data-testid="cases" data-query={page.data.query}>
          <thead>
            <tr>
              <th scope="col">{t('inbox.businessKey')}</th>
              <th scope="col">{t('inbox.process')}</th>
              <th scope="col">{t('cases.version')}</th>
              <th scope="col">{t('cases.status')}</th>
              <th scope="col">{t('cases.started')}</th>
            </tr>
          </thead>
          <tbody>
            {page.data.items.map((c) => (
              <tr key={c.id}>
                <td><Link to={`/cases/${c.id}`}>{c.business_key}</Link></td>
                <td>{definitionName(definitions.data, c.definition_key)}</td>
                <td>{c.version}</td>
                <td><span className={`badge badge-${c.status}`}>{t(`cases.statuses.${c.status}`, c.status)}</span></td>
                <td>{formatTime(c.started_at, i18n.language)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager page={page.data} onOffset={(o) => setParams({ ...Object.fromEntries(params), offset: String(o) })} />
    </section>
  );
}
