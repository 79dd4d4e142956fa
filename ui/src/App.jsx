import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, NavLink, Route, Routes, useNavigate, useParams } from 'react-router-dom';
import { useAuth } from './auth.jsx';
import { LANGUAGES } from './i18n.js';
import CaseDetail from './pages/CaseDetail.jsx';
import Cases from './pages/Cases.jsx';
import Inbox from './pages/Inbox.jsx';
import Incidents from './pages/Incidents.jsx';
import NewCase from './pages/NewCase.jsx';
import ProcessDetail from './pages/ProcessDetail.jsx';
import Processes from './pages/Processes.jsx';
import SignIn from './pages/SignIn.jsx';
import TaskPage from './pages/TaskPage.jsx';

function Header() {
  const { t, i18n } = useTranslation();
  const { me, signOut } = useAuth();
  const roles = me?.roles || {};
  return (
    <header className="top">
      <span className="brand">{t('app.title')}</span>
      {me && (
        <nav aria-label="main">
          <NavLink to="/inbox">{t('nav.inbox')}</NavLink>
          <NavLink to="/new">{t('nav.newCase')}</NavLink>
          <NavLink to="/cases">{t('nav.cases')}</NavLink>
          {(roles.supervisor || roles.analyst || roles.worker || roles.admin) && (
            <NavLink to="/incidents">{t('nav.incidents')}</NavLink>
          )}
          {(roles.analyst || roles.analytics) && <NavLink to="/processes">{t('nav.processes')}</NavLink>}
          <a href="/docs">{t('nav.docs')}</a>
        </nav>
      )}
      <span className="spacer" />
      <label className="lang">
        <span className="sr-only">{t('common.language')}</span>
        <select value={i18n.language} onChange={(e) => i18n.changeLanguage(e.target.value)}>
          {Object.entries(LANGUAGES).map(([code, name]) => (
            <option key={code} value={code}>{name}</option>
          ))}
        </select>
      </label>
      {me && (
        <span className="who" data-testid="who">
          <strong>{me.user_id}</strong>
          <span className="groups" title={t('auth.groups')}>
            {me.groups.map((g) => <span key={g} className="chip">{g}</span>)}
          </span>
          <button type="button" className="link" onClick={() => signOut()}>{t('auth.signOut')}</button>
        </span>
      )}
    </header>
  );
}

// A task's page keeps its state (the typed values, the answer of 提交办理) for that task only:
// following the link to the next task after submitting opens that task afresh.
function TaskRoute() {
  const { taskId } = useParams();
  return <TaskPage key={taskId} />;
}

// Another user signed in over an expired session: their own inbox, not the page of the user
// before them.
function useFreshStartForAnotherUser(session) {
  const navigate = useNavigate();
  const seen = useRef(session);
  useEffect(() => {
    if (seen.current !== session) {
      seen.current = session;
      navigate('/inbox', { replace: true });
    }
  }, [session, navigate]);
}

export default function App() {
  const { t } = useTranslation();
  const { token, me, expired, session, unreachable, retry, signOut } = useAuth();
  useFreshStartForAnotherUser(session);
  const again = Boolean(token && me && expired);
  return (
    <>
      <div className="workspace" inert={again}>
        <a className="skip" href="#main">{t('app.skip')}</a>
        <Header />
        <main id="main" tabIndex={-1}>
          {!token ? (
            <SignIn />
          ) : !me && unreachable ? (
            <div className="card" role="alert" data-testid="unreachable">
              <p>{t('auth.unreachable')}</p>
              <p className="muted">{unreachable.status ? `${unreachable.status}: ` : ''}{unreachable.message}</p>
              <div className="actions">
                <button type="button" className="primary" onClick={retry}>{t('common.retry')}</button>
                <button type="button" onClick={() => signOut()}>{t('auth.signOut')}</button>
              </div>
            </div>
          ) : !me ? (
            <p className="muted">{t('common.loading')}</p>
          ) : (
            <Routes key={session}>
              <Route path="/" element={<Navigate to="/inbox" replace />} />
              <Route path="/inbox" element={<Inbox />} />
              <Route path="/tasks/:taskId" element={<TaskRoute />} />
              <Route path="/new" element={<NewCase />} />
              <Route path="/cases" element={<Cases />} />
              <Route path="/cases/:instanceId" element={<CaseDetail />} />
              <Route path="/incidents" element={<Incidents />} />
              <Route path="/processes" element={<Processes />} />
              <Route path="/processes/:key" element={<ProcessDetail />} />
              <Route path="*" element={<Navigate to="/inbox" replace />} />
            </Routes>
          )}
        </main>
      </div>
      {again && (
        <div className="backdrop">
          <div role="dialog" aria-modal="true" aria-labelledby="signin-title">
            <SignIn />
          </div>
        </div>
      )}
    </>
  );
}
