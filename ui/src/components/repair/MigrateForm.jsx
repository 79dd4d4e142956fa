// Migrate a case to another version of its process (POST /migrations): first a dry run shows what
// maps where and what cannot, the boundary events it starts and drops, the open tasks it offers
// anew and the joins the case would wait in for good; steps that do not exist in the target can be
// mapped to one that does; the migration itself runs only on the previewed choice.
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { get, post, request } from '../../api.js';
import { stepLabel, stepsOf } from '../../elements.js';
import { useLoad } from '../../useLoad.js';
import ErrorNote from '../ErrorNote.jsx';
import Reason from './Reason.jsx';
import { useAction } from './useAction.js';

function Mapped({ item }) {
  if (typeof item === 'string') return <code>{item}</code>;
  const from = item.from ?? item.source ?? item.element_id;
  const to = item.to ?? item.target ?? item.target_element_id;
  if (from && to) return <><code>{from}</code> → <code>{to}</code></>;
  return <code>{JSON.stringify(item)}</code>;
}

// A value of a task before or after the migration, as the history's changes list it.
function Value({ value }) {
  const { t } = useTranslation();
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) {
    return <span className="muted">{t('repair.migrate.none')}</span>;
  }
  return <code>{Array.isArray(value) ? value.join(', ') : String(value)}</code>;
}

// What the migration does besides the mapping (the dry run predicts what the real run does):
// boundary events it starts and drops, open tasks it offers anew (a withdrawn claim among them),
// joins the case would wait in for good.
function Consequences({ result }) {
  const { t } = useTranslation();
  const events = (list, key, testid) => list?.length > 0 && (
    <div data-testid={testid}>{t(`repair.migrate.${key}`)}:
      <ul className="findings">
        {list.map((e, i) => (
          <li key={i} data-element={e.element_id}>
            {t(`repair.migrate.event.${e.kind}`, { defaultValue: e.kind })} <code>{e.element_id}</code> {t('repair.migrate.on')} <code>{e.attached_to}</code>
          </li>
        ))}
      </ul>
    </div>
  );
  return (
    <>
      {events(result.started, 'started', 'migration-started')}
      {events(result.dropped, 'dropped', 'migration-dropped')}
      {result.reassigned?.length > 0 && (
        <div data-testid="migration-reassigned">{t('repair.migrate.reassigned')}:
          <ul className="findings">
            {result.reassigned.map((task) => (
              <li key={task.task_id} data-task={task.task_id}><code>{task.element_id}</code>
                <ul>
                  {task.changes.map((c) => (
                    <li key={c.field} data-field={c.field}>
                      {c.field === 'assignee' && (c.new === null || c.new === undefined)
                        ? t('repair.migrate.claimWithdrawn', { user: c.old })
                        : <>{t(`repair.migrate.field.${c.field}`, { defaultValue: c.field })}: <Value value={c.old} /> → <Value value={c.new} /></>}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </div>
      )}
      {result.warnings?.length > 0 && (
        <div data-testid="migration-warnings">{t('repair.migrate.warnings')}:
          <ul className="findings">
            {result.warnings.map((w, i) => (
              <li key={i} data-element={w.element_id}>
                {t('repair.migrate.joinWaits', { join: w.element_id, branch: w.waiting_for, start: w.start_before })}
              </li>
            ))}
          </ul>
        </div>
      )}
    </>
  );
}

export default function MigrateForm({ instance, onDone }) {
  const { t } = useTranslation();
  const definition = useLoad(() => get(`/process-definitions/${instance.definition_key}`), [instance.definition_key]);
  const others = (definition.data?.versions || []).map((v) => v.version).filter((v) => v !== instance.version);
  const [chosen, setChosen] = useState(null);
  const target = chosen ?? (others.length ? Math.max(...others) : null);
  const targetXml = useLoad(
    () => (target ? request(`/process-definitions/${instance.definition_key}/xml`, { params: { version: target }, raw: true }) : Promise.resolve(null)),
    [instance.definition_key, target],
  );
  const targetSteps = useMemo(() => stepsOf(targetXml.data), [targetXml.data]);
  const [mapping, setMapping] = useState({});
  const [reason, setReason] = useState('');
  const [preview, setPreview] = useState(null);
  const previewAction = useAction('reason-migrate', (answer) => setPreview({ answer, target, mapping }));
  // A migration the service refused for this case shows why, like a preview.
  const migrateAction = useAction('reason-migrate', (answer) => {
    if ((answer.results || []).every((r) => r.ok)) onDone(answer);
    else setPreview({ answer, target, mapping });
  });

  function body(dryRun) {
    const json = {
      source: { key: instance.definition_key, version: instance.version },
      target: { key: instance.definition_key, version: target },
      instance_ids: [instance.id], dry_run: dryRun, reason: reason.trim(),
    };
    const chosenMapping = Object.fromEntries(Object.entries(mapping).filter(([, v]) => v));
    if (Object.keys(chosenMapping).length) json.mapping = chosenMapping;
    return json;
  }

  const result = preview?.answer?.results?.find((r) => r.instance_id === instance.id) || preview?.answer?.results?.[0];
  const current = preview && preview.target === target && preview.mapping === mapping;

  function changeMapping(element, value) {
    setMapping((m) => ({ ...m, [element]: value }));
  }

  if (definition.error) return <ErrorNote error={definition.error} />;
  if (!definition.data) return <p className="muted">{t('common.loading')}</p>;
  if (others.length === 0) return <p className="muted" data-testid="repair-migrate">{t('repair.migrate.noOther')}</p>;

  return (
    <form noValidate onSubmit={(e) => { e.preventDefault(); previewAction.run(reason, () => post('/migrations', body(true))); }}
      aria-labelledby="repair-migrate-title" data-testid="repair-migrate">
      <h3 id="repair-migrate-title" tabIndex={-1}>{t('repair.migrate.title')}</h3>
      <p className="muted">{t('repair.migrate.hint', { version: instance.version })}</p>
      <label>{t('repair.migrate.target')}
        <select value={target ?? ''} onChange={(e) => { setChosen(Number(e.target.value)); setMapping({}); }}>
          {others.map((v) => <option key={v} value={v}>{t('processes.versionN', { version: v })}</option>)}
        </select>
      </label>
      <Reason id="reason-migrate" value={reason} onChange={setReason}
        errors={previewAction.fieldErrors.reason || migrateAction.fieldErrors.reason} />
      <ErrorNote error={previewAction.error || migrateAction.error} />
      <div className="actions">
        <button type="submit" disabled={previewAction.busy || !target}>{t('repair.migrate.preview')}</button>
      </div>
      {result && (
        <div className={result.ok ? 'notice' : 'error'} data-testid="migration-preview" data-ok={String(!!result.ok)}>
          <strong>{result.ok ? t('repair.migrate.ok', { version: preview.target }) : t('repair.migrate.notOk', { version: preview.target })}</strong>
          {!current && <div className="muted">{t('repair.migrate.stale')}</div>}
          {result.mapped?.length > 0 && (
            <div>{t('repair.migrate.mapped')}: {result.mapped.map((m, i) => <span key={i} className="mapped"><Mapped item={m} /></span>)}</div>
          )}
          <Consequences result={result} />
          {result.problems?.length > 0 && (
            <ul className="findings">
              {result.problems.map((p, i) => (
                <li key={i}>
                  {p.element_id && <code>{p.element_id}</code>} {p.message}
                  {p.element_id && (
                    <label className="inline-field">{t('repair.migrate.mapTo')}
                      <select value={mapping[p.element_id] || ''} onChange={(e) => changeMapping(p.element_id, e.target.value)}>
                        <option value="">–</option>
                        {targetSteps.map((s) => <option key={s.id} value={s.id}>{stepLabel(s)}</option>)}
                      </select>
                    </label>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div className="actions">
        {!current && <span className="muted">{t('repair.migrate.previewFirst')}</span>}
        <button type="button" className="primary" disabled={migrateAction.busy || !current || !result?.ok}
          onClick={() => migrateAction.run(reason, () => post('/migrations', body(false)))}>
          {t('repair.migrate.submit', { version: target })}
        </button>
      </div>
    </form>
  );
}
