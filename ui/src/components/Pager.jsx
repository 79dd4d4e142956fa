import { useTranslation } from 'react-i18next';

export default function Pager({ page, onOffset }) {
  const { t } = useTranslation();
  if (!page || page.total === 0) return null;
  const from = page.offset + 1;
  const to = Math.min(page.offset + page.items.length, page.total);
  return (
    <nav className="pager" aria-label="pages">
      <button type="button" disabled={page.offset === 0}
        onClick={() => onOffset(Math.max(0, page.offset - page.limit))}>{t('common.previous')}</button>
      <span>{t(page.total_is_lower_bound ? 'common.pageOfMore' : 'common.pageOf', { from, to, total: page.total })}</span>
      <button type="button" disabled={to >= page.total && !page.total_is_lower_bound}
        onClick={() => onOffset(page.offset + page.limit)}>{t('common.next')}</button>
    </nav>
  );
}
