// Every open incident a supervisor must act on, oldest first (GET /incidents): which case, where
// it stopped, what failed, since when and which repairs apply. The repairs themselves are on the
// case's page, where the diagram shows the element.
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { get } from '../api.js';
import ErrorNote from '../components/ErrorNote.jsx';
import Pager from '../components/Pager.jsx';
import { definitionName, loadDefinitions } from '../definitions.js';
import { formatTime } from '../format.js';
import { useLoad } from '../useLoad.js';

const REPAIR = { retry: 'retry', set_variables: 'variables', modification: 'move', migration: 'migrate' };

export default function Incidents() {
  const { t, i18n } = useTranslation();
  const [params, setParams] = useSearchParams();
  const definitions = useLoad(() => loadDefinitions(), []);
  const query = params.toString();
  const page = useLoad(() => get('/incidents', {
    process_definition_key: params.get('process'), offset: params.get('offset'), limit: 50,
  }).then((answer) => ({ ...answer, query })), [query]);

  function choose(event) {
    const process = event.target.value;
    setParams(process ? { process } : {});
  }

  return (
    <section>
      <h1>{t('incidents.title')}</h1>
      <p className="muted">{t('incidents.hint')}</p>
      <form className="filters" onSubmit={(event) => event.preventDefault()}>
        <label>{t('inbox.process')}
          <select name="process" value={params.get('process') || ''} onChange={choose}>
            <option value="">{t('common.all')}</option>
            {(definitions.data || []).map((d) => <option key={d.key} value={d.key}>{d.name || d.key}</option>)}
          </select>
        </label>
      </form>
      <ErrorNote error={page.error} />
      {page.data && page.data.items.length === 0 && (
        <p className="muted" data-testid="incidents-empty" data-query={page.data.query}>{t('incidents.none')}</p>
      )}
      {page.data && page.data.items.length > 0 && (
        <table className="grid" data-testid="incident-list" data-query={page.data.query}>
          <thead>
            <tr>
              <th scope="col">{t('inbox.businessKey')}</th>
              <th scope="col">{t('inbox.process')}</th>
              <th scope="col">{t('incidents.element')}</th>
              <th scope="col">{t('incidents.kind')}</th>
              <th scope="col">{t('incidents.error')}</th>
              <th scope="col">{t('incidents.since')}</th>
              <th scope="col">{t('incidents.repairs')}</th>
            </tr>
          </thead>
          <tbody>
            {page.data.items.map((incident) => (
              <tr key={incident.id} data-incident={incident.id}>
                <td><Link to={`/cases/${incident.instance_id}`}>{incident.business_key}</Link></td>
                <td>{definitionName(definitions.data, incident.process_definition_key)}</td>
                <td>
                  {incident.element_name || incident.element_id || '—'}
                  {incident.element_id && incident.element_name && <> <code className="muted">{incident.element_id}</code></>}
                </td>
                <td>
                  <span className="badge badge-error">{t(`incidents.kinds.${incident.kind}`, incident.kind)}</span>
                  {incident.occurrences > 1 && <span className="muted"> ×{incident.occurrences}</span>}
                </td>
                <td className="wrap">{incident.message}</td>
                <td>{formatTime(incident.since, i18n.language)}</td>
                <td>{(incident.actions || []).map((a) => (REPAIR[a] ? t(`repair.${REPAIR[a]}.open`) : a)).join(' · ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager page={page.data} onOffset={(o) => setParams({ ...Object.fromEntries(params), offset: String(o) })} />
    </section>
  );
}
