// Labels in Vietnamese and English, and number formatting: Vietnamese
// numbers group thousands with "." and use "," for decimals (37,93 %).

const labels = {
  vi: {
    title: 'chiso · khám phá số liệu', graphiql: 'GraphiQL', search: 'Tìm đơn vị (không cần dấu)…', tree: 'Đơn vị hành chính',
    unit: 'Đơn vị', series: 'Chuỗi số liệu', compare: 'So sánh', map: 'Bản đồ', download: 'Tải xuống',
    indicators: 'Chỉ tiêu', latest: 'Mới nhất', filter: 'Lọc chỉ tiêu (không cần dấu)…', noIndicators: 'Không có số liệu cho đơn vị này.',
    period: 'Kỳ', kind: 'Loại', value: 'Giá trị', raw: 'Nguyên văn', methodology: 'Phương pháp', flags: 'Ghi chú', source: 'Nguồn', line: 'dòng',
    canonical: 'Dùng', target: 'Mục tiêu', actual: 'Thực hiện', breakAt: 'Thay đổi phương pháp', rank: 'Hạng', missing: 'Không có giá trị',
    ranked: 'Xếp hạng', mixedPeriods: 'Các đơn vị có số liệu ở các kỳ khác nhau: kỳ khác được đánh dấu *', mixedMethodology: 'Giá trị được đo theo các phương pháp khác nhau: thứ hạng vượt qua điểm thay đổi phương pháp',
    periodMode: 'Kỳ so sánh', LATEST: 'Mới nhất của từng đơn vị', COMMON: 'Kỳ chung gần nhất', EXACT: 'Năm',
    NO_DATA: 'không có số liệu', STALE: 'số liệu quá cũ', OTHER_BASIS: 'chỉ có số liệu khác cơ sở', NOT_IN_COMMON_PERIOD: 'không có số liệu trong kỳ chung',
    unitsInSet: 'đơn vị', of: 'trên', noMap: 'Bản đồ chỉ có cho các huyện của Lai Châu.', legendMissing: 'không có số liệu', pickIndicator: 'Chỉ tiêu',
    otherPeriod: 'kỳ khác', children: 'Cấp dưới', open: 'Mở', noSeries: 'Không có số liệu.', definition: 'Định nghĩa', level: 'Cấp',
    COUNTRY: 'Quốc gia', PROVINCE: 'Tỉnh', DISTRICT: 'Huyện', COMMUNE: 'Xã', VILLAGE: 'Thôn, bản', REGION: 'Vùng',
    ACTUAL: 'Thực hiện', TARGET: 'Mục tiêu', CHANGE: 'Thay đổi', SHARE: 'Tỷ trọng', ACHIEVEMENT: 'Tỷ lệ hoàn thành', EXCESS: 'Vượt',
    error: 'Lỗi', results: 'Kết quả tìm kiếm', none: 'Không tìm thấy', otherTheme: 'Khác',
  },
  en: {
    title: 'chiso · data explorer', graphiql: 'GraphiQL', search: 'Find a unit (accents optional)…', tree: 'Administrative units',
    unit: 'Unit', series: 'Series', compare: 'Compare', map: 'Map', download: 'Download',
    indicators: 'Indicators', latest: 'Latest', filter: 'Filter indicators (accents optional)…', noIndicators: 'No data for this unit.',
    period: 'Period', kind: 'Kind', value: 'Value', raw: 'As written', methodology: 'Methodology', flags: 'Flags', source: 'Source', line: 'line',
    canonical: 'Used', target: 'Target', actual: 'Actual', breakAt: 'Methodology changes', rank: 'Rank', missing: 'No value',
    ranked: 'Ranked', mixedPeriods: 'Units have values for different periods: other periods are marked *', mixedMethodology: 'Values were measured under different methodologies: the ranks compare across a break',
    periodMode: 'Period', LATEST: 'Each unit\'s latest', COMMON: 'Latest common period', EXACT: 'Year',
    NO_DATA: 'no data', STALE: 'stale', OTHER_BASIS: 'other basis only', NOT_IN_COMMON_PERIOD: 'not in the common period',
    unitsInSet: 'units', of: 'of', noMap: 'The map covers the districts of Lai Châu only.', legendMissing: 'no data', pickIndicator: 'Indicator',
    otherPeriod: 'other period', children: 'Below', open: 'Open', noSeries: 'No data.', definition: 'Definition', level: 'Level',
    COUNTRY: 'Country', PROVINCE: 'Province', DISTRICT: 'District', COMMUNE: 'Commune', VILLAGE: 'Village', REGION: 'Region',
    ACTUAL: 'Actual', TARGET: 'Target', CHANGE: 'Change', SHARE: 'Share', ACHIEVEMENT: 'Achievement', EXCESS: 'Excess',
    error: 'Error', results: 'Search results', none: 'Nothing found', otherTheme: 'Other',
  },
};

const themes = {
  agriculture: ['Nông nghiệp', 'Agriculture'], budget: ['Ngân sách', 'Budget'], culture: ['Văn hóa', 'Culture'],
  economy: ['Kinh tế', 'Economy'], education: ['Giáo dục', 'Education'], environment: ['Môi trường', 'Environment'],
  ethnic_affairs: ['Công tác dân tộc', 'Ethnic affairs'], forestry: ['Lâm nghiệp', 'Forestry'], governance: ['Quản lý nhà nước', 'Governance'],
  health: ['Y tế', 'Health'], housing: ['Nhà ở', 'Housing'], infrastructure: ['Hạ tầng', 'Infrastructure'], labour: ['Lao động', 'Labour'],
  party: ['Công tác Đảng', 'Party work'], population: ['Dân số', 'Population'], poverty: ['Giảm nghèo', 'Poverty'],
  security: ['Quốc phòng, an ninh', 'Defence and security'], social: ['Xã hội', 'Social affairs'],
};

// Measure units as Vietnamese documents write them.
const unitsVi = {
  people: 'người', households: 'hộ', units: '', 'billion VND': 'tỷ đồng', 'million VND': 'triệu đồng', 'thousand VND': 'nghìn đồng',
  VND: 'đồng', tonnes: 'tấn', quintals: 'tạ', times: 'lần', years: 'năm', months: 'tháng', days: 'ngày', hours: 'giờ',
  'VND/person': 'đồng/người', 'million VND/person': 'triệu đồng/người', 'million VND/person/year': 'triệu đồng/người/năm',
};
const unitsEn = { units: '' };

export function t(lang, key) {
  return labels[lang]?.[key] ?? labels.en[key] ?? key;
}

export function themeName(lang, theme) {
  const th = themes[theme];
  if (!th) return theme || t(lang, 'otherTheme');
  return lang === 'vi' ? th[0] : th[1];
}

export function name(lang, o) {
  if (!o) return '';
  return lang === 'en' ? o.nameEn || o.nameVi : o.nameVi;
}

const formats = {};
function numberFormat(lang, digits) {
  const k = lang + digits;
  formats[k] ??= new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-US', { maximumFractionDigits: digits });
  return formats[k];
}

// num formats a number for lang: 37.93 → "37,93" (vi) or "37.93" (en);
// 17055 → "17.055" (vi) or "17,055" (en).
export function num(lang, v) {
  if (v === null || v === undefined) return '–';
  const digits = Math.abs(v) < 1 && v !== 0 ? 4 : 2;
  return numberFormat(lang, digits).format(v);
}

// value formats a value with its measure unit: "37,93 %" (vi), "37.93%" (en).
export function value(lang, v, unitLabel) {
  if (v === null || v === undefined) return '–';
  const n = num(lang, v);
  if (unitLabel === '%' || unitLabel === '‰') return lang === 'vi' ? `${n} ${unitLabel}` : `${n}${unitLabel}`;
  const u = (lang === 'vi' ? unitsVi : unitsEn)[unitLabel] ?? unitLabel ?? '';
  return u ? `${n} ${u}` : n;
}

// fold removes diacritics and case, as the API's search does: "Phong Thổ" → "phong tho".
export function fold(s) {
  return (s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd').toLowerCase();
}
