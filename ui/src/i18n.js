// UI texts in Chinese (the default) and English; the chosen language is kept in the browser
// session only. Texts that come from the processes (task names, form labels) stay as modelled.
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './locales/en.js';
import zh from './locales/zh.js';

export const LANGUAGES = { zh: '中文', en: 'English' };
const stored = sessionStorage.getItem('lang');

i18n.use(initReactI18next).init({
  resources: { zh: { translation: zh }, en: { translation: en } },
  lng: stored in LANGUAGES ? stored : 'zh',
  fallbackLng: 'zh',
  interpolation: { escapeValue: false },
});

i18n.on('languageChanged', (lng) => {
  sessionStorage.setItem('lang', lng);
  document.documentElement.lang = lng === 'zh' ? 'zh-CN' : 'en';
});
document.documentElement.lang = i18n.language === 'zh' ? 'zh-CN' : 'en';

export default i18n;
