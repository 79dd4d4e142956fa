import { useTranslation } from 'react-i18next';
import { useAuth } from '../auth.jsx';
import { Link } from 'react-router-dom';
import ErrorNote from '../components/ErrorNote.jsx';
import { loadDefinitions } from '../definitions.js';
import { formatTime } from '../format.js';
import { useLoad } from '../useLoad.js';
import Deploy from './Deploy.jsx';

export default function Processes() {
  const { t, i18n } = useTranslation();
  const { me } = useAuth();
  const definitions = useLoad(() => loadDefinitions(true), []);
  return (
    <section>
      <h1>{t('processes.title')}</h1>
      <ErrorNote error={definitions.error} />
      {definitions.data && (
        <table className="grid" data-testid="definitions">
          <thead>
            <tr>
              <th scope="col">{t('inbox.process')}</th>
              <th scope="col">key</th>
              <th scope="col">{t('processes.versions')}</th>
              <th scope="col">{t('processes.deployedAt')}</th>
            </tr>
          </thead>
          <tbody>
            {definitions.data.map((d) => (
              <tr key={d.key}>
                <td><Link to={`/processes/${d.key}`}>{d.name || d.key}</Link></td>
                <td><code>{d.key}</code></td>
                <td>{d.latest_version}</td>
                <td>{formatTime(d.versions[0]?.deployed_at, i18n.language)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {me.roles.analyst && <Deploy onDeployed={definitions.reload} />}
    </section>
  );
}
