// A drop zone for one .bpmn file that also works from the keyboard (it is a file input's label).
import { useState } from 'react';
import { useTranslation } from 'react-i18next';

export default function DropFile({ onFile }) {
  const { t } = useTranslation();
  const [over, setOver] = useState(false);

  function take(files) {
    const file = files?.[0];
    if (file) onFile(file);
  }

  return (
    <label className={over ? 'dropzone over' : 'dropzone'} data-testid="dropzone"
      onDragOver={(e) => { e.preventDefault(); setOver(true); }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => { e.preventDefault(); setOver(false); take(e.dataTransfer.files); }}>
      {t('processes.drop')}
      <input type="file" accept=".bpmn,.xml,application/xml,text/xml" className="sr-only-input"
        onChange={(e) => { take(e.target.files); e.target.value = ''; }} />
    </label>
  );
}
