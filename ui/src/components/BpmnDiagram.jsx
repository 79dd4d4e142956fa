// A read-only BPMN diagram (bpmn-js NavigatedViewer: pan and zoom) with CSS markers on elements
// and small notes (overlays) attached to them.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/diagram-js.css';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';

// flows: {from: ids, to: ids, marker}: sequence flows from one of `from` to one of `to` get the
// marker (the path a case took between elements it passed).
// focus: element ids to centre on at reading size (the first one found), instead of the whole diagram.
// onElementClick(id): an element was clicked (pointer users' shortcut for a choice a form also offers).
export default function BpmnDiagram({
  xml, markers = {}, notes = [], flows, focus, className = 'diagram', label, onReady, onElementClick,
}) {
  const { t } = useTranslation();
  const container = useRef(null);
  const viewer = useRef(null);
  const [loaded, setLoaded] = useState(0);
  const [error, setError] = useState(null);
  const clicked = useRef(onElementClick);
  clicked.current = onElementClick;

  useEffect(() => {
    viewer.current = new NavigatedViewer({ container: container.current });
    viewer.current.on('element.click', (event) => clicked.current?.(event.element.businessObject?.id || event.element.id));
    return () => viewer.current.destroy();
  }, []);

  useEffect(() => {
    if (!xml) return;
    let current = true;
    setError(null);
    viewer.current.importXML(xml).then(
      () => {
        if (!current) return;
        viewer.current.get('canvas').zoom('fit-viewport', 'auto');
        setLoaded((n) => n + 1);
      },
      (e) => current && setError(e.message),
    );
    return () => { current = false; };
  }, [xml]);

  useEffect(() => {
    if (!loaded) return undefined;
    const canvas = viewer.current.get('canvas');
    const registry = viewer.current.get('elementRegistry');
    const overlays = viewer.current.get('overlays');
    const added = [];
    for (const [id, classes] of Object.entries(markers)) {
      if (!registry.get(id)) continue;
      for (const c of [].concat(classes)) {
        canvas.addMarker(id, c);
        added.push([id, c]);
      }
    }
    if (flows) {
      for (const element of registry.filter((e) => e.type === 'bpmn:SequenceFlow')) {
        if (flows.from.has(element.source?.id) && flows.to.has(element.target?.id)) {
          canvas.addMarker(element.id, flows.marker);
          added.push([element.id, flows.marker]);
        }
      }
    }
    const noteIds = [];
    for (const note of notes) {
      const element = registry.get(note.element);
      if (!element) continue;
      const html = document.createElement('div');
      html.className = `overlay-note ${note.kind || ''}`;
      html.textContent = note.text;
      html.title = note.title || note.text;
      noteIds.push(overlays.add(note.element, {
        position: note.position || { bottom: 4, left: 0 },
        html,
      }));
    }
    const target = (focus || []).map((id) => registry.get(id)).find(Boolean);
    if (target) {
      canvas.zoom(0.9);
      canvas.scrollToElement(target, { top: 120, left: 240, right: 240, bottom: 120 });
    }
    onReady?.(viewer.current);
    return () => {
      for (const [id, c] of added) canvas.removeMarker(id, c);
      for (const id of noteIds) overlays.remove(id);
    };
  }, [loaded, markers, notes, flows, focus, onReady]);

  function zoom(step) {
    const canvas = viewer.current.get('canvas');
    if (step === 0) canvas.zoom('fit-viewport', 'auto');
    else canvas.zoom(canvas.zoom() * step);
  }

  return (
    <div className="diagram-wrap">
      <div className="zoom" role="group" aria-label={t('diagram.zoom')}>
        <button type="button" onClick={() => zoom(1.25)} aria-label={t('diagram.zoomIn')}>+</button>
        <button type="button" onClick={() => zoom(0.8)} aria-label={t('diagram.zoomOut')}>−</button>
        <button type="button" onClick={() => zoom(0)}>{t('diagram.fit')}</button>
      </div>
      <div ref={container} className={className} role="img" aria-label={label} data-testid="diagram"
        data-loaded={loaded ? 'true' : 'false'} />
      {error && (
        <p className="notice warning" role="status" data-testid="diagram-error">
          {/no diagram to display/i.test(error)
            ? t('diagram.noDiagram')
            : <>{t('diagram.cannotShow')} <span className="muted">{error}</span></>}
        </p>
      )}
    </div>
  );
}
