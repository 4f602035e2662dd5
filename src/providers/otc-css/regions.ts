/** Open Telekom Cloud regions with CSS. */
export const OTC_CSS_REGIONS: Readonly<Record<string, string>> = {
  'eu-de': 'https://css.eu-de.otc.t-systems.com',
  'eu-nl': 'https://css.eu-nl.otc.t-systems.com',
};
