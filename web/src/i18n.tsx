import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';

export type Lang = 'ko' | 'en';

type Entry = [ko: string, en: string];

/** Every label, Korean first. `{name}` is replaced by params. */
const DICT = {
  'app.title': ['퀀텀 트레이딩', 'Quantum Trading'],
  'nav.account': ['계좌', 'Account'],
  'nav.market': ['시세·주문', 'Market'],
  'nav.orders': ['주문내역', 'Orders'],
  'nav.portfolio': ['잔고', 'Portfolio'],
  'nav.admin': ['관리자', 'Admin'],
  'nav.signOut': ['로그아웃', 'Sign out'],
  'lang.toggle': ['English', '한국어'],
  'common.loading': ['불러오는 중…', 'Loading…'],
  'common.retry': ['다시 시도', 'Retry'],
  'common.save': ['저장', 'Save'],
  'common.cancel': ['취소', 'Cancel'],
  'common.close': ['닫기', 'Close'],
  'common.none': ['없음', 'None'],
  'common.refresh': ['새로고침', 'Refresh'],
  'common.yes': ['예', 'Yes'],
  'common.no': ['아니오', 'No'],
  'signin.title': ['로그인', 'Sign in'],
  'signin.username': ['아이디', 'Username'],
  'signin.password': ['비밀번호', 'Password'],
  'signin.submit': ['로그인', 'Sign in'],
  'rt.LIVE': ['실시간 연결됨', 'Live'],
  'rt.CONNECTING': ['연결 중', 'Connecting'],
  'rt.STALLED': ['지연', 'Stalled'],
  'rt.RECONNECTING': ['재연결 중', 'Reconnecting'],
  'rt.CLOSED': ['연결 끊김', 'Disconnected'],
  'rt.IDLE': ['대기', 'Idle'],
  'account.title': ['키움 계좌', 'Kiwoom account'],
  'account.none': ['계좌가 연결되지 않았습니다.', 'No account is assigned to you.'],
  'account.noneHint': ['관리자에게 계좌 배정을 요청하세요.', 'Ask an administrator to assign one.'],
  'account.id': ['계좌번호', 'Account'],
  'account.environment': ['환경', 'Environment'],
  'account.assignedAt': ['배정일시', 'Assigned at'],
  'account.active': ['활성', 'Active'],
  'account.credsMissing': ['API 인증정보(App Key/Secret)가 등록되지 않았습니다.', 'API credentials (app key / secret) are missing.'],
  'account.tokenValid': ['토큰 유효: {until}까지', 'Token valid until {until}'],
  'account.tokenInvalid': ['유효한 토큰이 없습니다.', 'No valid token.'],
  'account.updateCreds': ['인증정보 등록/변경', 'Update credentials'],
  'account.clientId': ['App Key (clientId)', 'App key (clientId)'],
  'account.clientSecret': ['App Secret (clientSecret)', 'App secret (clientSecret)'],
  'account.credsSaved': ['인증정보가 저장되었습니다.', 'Credentials saved.'],
  'account.getToken': ['토큰 발급/조회', 'Get token'],
  'account.tokenShown': ['토큰 ({type}), 만료 {until}', 'Token ({type}), expires {until}'],
  'market.search': ['종목명 또는 코드 검색', 'Search name or code'],
  'market.noResults': ['검색 결과가 없습니다.', 'No matches.'],
  'market.pickStock': ['종목을 검색해 선택하세요.', 'Search and pick a stock.'],
  'market.open': ['시가', 'Open'],
  'market.high': ['고가', 'High'],
  'market.low': ['저가', 'Low'],
  'market.volume': ['거래량', 'Volume'],
  'market.upper': ['상한가', 'Upper limit'],
  'market.lower': ['하한가', 'Lower limit'],
  'market.base': ['기준가', 'Base price'],
  'market.chart': ['차트', 'Chart'],
  'market.orderbook': ['호가', 'Order book'],
  'market.ask': ['매도잔량', 'Ask qty'],
  'market.bid': ['매수잔량', 'Bid qty'],
  'market.price': ['가격', 'Price'],
  'chart.D': ['일', 'Day'],
  'chart.W': ['주', 'Week'],
  'chart.M': ['월', 'Month'],
  'chart.Y': ['년', 'Year'],
  'chart.min': ['{n}분', '{n}m'],
  'ticket.title': ['주문', 'Order ticket'],
  'ticket.buy': ['매수', 'Buy'],
  'ticket.sell': ['매도', 'Sell'],
  'ticket.type': ['주문유형', 'Order type'],
  'ticket.quantity': ['수량', 'Quantity'],
  'ticket.price': ['가격', 'Price'],
  'ticket.stopPrice': ['감시가격', 'Stop price'],
  'ticket.submit': ['주문 전송', 'Submit order'],
  'ticket.submitted': ['주문 접수: {id} ({state})', 'Order {id}: {state}'],
  'ticket.tick': ['호가단위 {tick}원', 'Tick {tick}'],
  'err.required': ['필수 입력입니다.', 'Required.'],
  'err.positiveInt': ['1 이상의 정수를 입력하세요.', 'Enter a whole number ≥ 1.'],
  'err.tick': ['호가단위({tick}원)에 맞지 않습니다: {down} 또는 {up}', 'Not on the tick grid ({tick}): {down} or {up}'],
  'err.aboveUpper': ['상한가({limit}) 초과', 'Above the upper limit ({limit})'],
  'err.belowLower': ['하한가({limit}) 미만', 'Below the lower limit ({limit})'],
  'err.orderType': ['알 수 없는 주문유형', 'Unknown order type'],
  'err.noStock': ['종목을 선택하세요.', 'Pick a stock first.'],
  'orders.title': ['주문내역', 'Orders'],
  'orders.id': ['주문번호', 'Order'],
  'orders.stock': ['종목', 'Stock'],
  'orders.side': ['구분', 'Side'],
  'orders.type': ['유형', 'Type'],
  'orders.qty': ['수량', 'Qty'],
  'orders.price': ['가격', 'Price'],
  'orders.state': ['상태', 'State'],
  'orders.filled': ['체결', 'Filled'],
  'orders.avg': ['평균체결가', 'Avg fill'],
  'orders.remaining': ['미체결', 'Remaining'],
  'orders.created': ['주문시각', 'Created'],
  'orders.actions': ['', ''],
  'orders.cancel': ['취소', 'Cancel'],
  'orders.modify': ['정정', 'Modify'],
  'orders.details': ['이력', 'History'],
  'orders.newPrice': ['새 가격', 'New price'],
  'orders.newQty': ['새 잔량', 'New remaining qty'],
  'orders.apply': ['적용', 'Apply'],
  'orders.empty': ['주문이 없습니다.', 'No orders yet.'],
  'orders.events': ['이벤트 이력', 'Event history'],
  'orders.reason': ['사유', 'Reason'],
  'pf.title': ['잔고', 'Portfolio'],
  'pf.cash': ['예수금', 'Cash'],
  'pf.buyingPower': ['주문가능금액', 'Buying power'],
  'pf.evaluation': ['평가금액', 'Evaluation'],
  'pf.profit': ['평가손익', 'P&L'],
  'pf.profitRate': ['수익률', 'Return'],
  'pf.realized': ['당일 실현손익', 'Realized today'],
  'pf.assets': ['추정자산', 'Est. assets'],
  'pf.openOrders': ['미체결 주문', 'Open orders'],
  'pf.avgPrice': ['평균단가', 'Avg price'],
  'pf.price': ['현재가', 'Price'],
  'pf.qty': ['보유수량', 'Qty'],
  'pf.empty': ['보유 종목이 없습니다.', 'No holdings.'],
  'admin.users': ['사용자', 'Users'],
  'admin.accounts': ['키움 계좌', 'Kiwoom accounts'],
  'admin.usage': ['API 사용량', 'API usage'],
  'admin.logs': ['호출 로그', 'Call log'],
  'admin.username': ['아이디', 'Username'],
  'admin.password': ['비밀번호', 'Password'],
  'admin.role': ['권한', 'Role'],
  'admin.userId': ['사용자 ID', 'User ID'],
  'admin.create': ['생성', 'Create'],
  'admin.disable': ['비활성화', 'Disable'],
  'admin.enable': ['활성화', 'Enable'],
  'admin.active': ['활성', 'Active'],
  'admin.lastLogin': ['최근 로그인', 'Last login'],
  'admin.accountId': ['계좌번호 (선택)', 'Account id (optional)'],
  'admin.displayName': ['표시 이름', 'Display name'],
  'admin.environment': ['환경', 'Environment'],
  'admin.assignedTo': ['배정 사용자', 'Assigned to'],
  'admin.assign': ['배정', 'Assign'],
  'admin.unassign': ['배정 해제', 'Unassign'],
  'admin.history': ['감사 이력', 'Audit trail'],
  'admin.credentials': ['인증정보', 'Credentials'],
  'admin.from': ['시작일', 'From'],
  'admin.to': ['종료일', 'To'],
  'admin.load': ['조회', 'Load'],
  'admin.callsPerDay': ['일별 호출 수', 'Calls per day'],
  'admin.successRate': ['성공률 (%)', 'Success rate (%)'],
  'admin.latency': ['응답시간 평균/p95 (ms)', 'Latency avg / p95 (ms)'],
  'admin.apiId': ['API ID', 'API id'],
  'admin.recentErrors': ['최근 오류', 'Recent errors'],
  'admin.calls': ['호출', 'Calls'],
  'admin.errors': ['오류', 'Errors'],
  'admin.avg': ['평균(ms)', 'Avg (ms)'],
  'admin.p95': ['p95(ms)', 'p95 (ms)'],
  'admin.date': ['날짜', 'Date'],
  'admin.time': ['시각', 'Time'],
  'admin.endpoint': ['엔드포인트', 'Endpoint'],
  'admin.success': ['성공', 'OK'],
  'admin.errorCode': ['오류코드', 'Error code'],
  'admin.filterUser': ['사용자 ID 필터', 'Filter by user id'],
  'admin.prev': ['이전', 'Previous'],
  'admin.next': ['다음', 'Next'],
  'admin.page': ['{page} / {pages} 페이지', 'Page {page} of {pages}'],
  'admin.noData': ['데이터가 없습니다.', 'No data.'],
  'admin.all': ['전체', 'All'],
} satisfies Record<string, Entry>;

export type MessageKey = keyof typeof DICT;

export function translate(lang: Lang, key: string, params?: Record<string, string | number>): string {
  const entry = (DICT as Record<string, Entry>)[key];
  let text = entry ? entry[lang === 'ko' ? 0 : 1] : key;
  if (params) {
    for (const [name, value] of Object.entries(params)) {
      const shown = typeof value === 'number' ? value.toLocaleString('ko-KR') : value;
      text = text.split(`{${name}}`).join(shown);
    }
  }
  return text;
}

interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: (key: MessageKey | string, params?: Record<string, string | number>) => string;
}

const I18nContext = createContext<I18n>({
  lang: 'ko',
  setLang: () => undefined,
  t: (key, params) => translate('ko', key, params),
});

function initialLang(): Lang {
  try {
    const saved = localStorage.getItem('qtp.lang');
    if (saved === 'ko' || saved === 'en') return saved;
  } catch {
    /* storage unavailable */
  }
  return typeof navigator !== 'undefined' && navigator.language?.startsWith('ko') === false ? 'en' : 'ko';
}

export function I18nProvider({ children, lang: fixed }: { children: ReactNode; lang?: Lang }) {
  const [lang, setLangState] = useState<Lang>(fixed ?? initialLang);
  const setLang = useCallback((next: Lang) => {
    setLangState(next);
    try {
      localStorage.setItem('qtp.lang', next);
    } catch {
      /* ignore */
    }
    document.documentElement.lang = next;
  }, []);
  const value = useMemo<I18n>(() => ({ lang, setLang, t: (key, params) => translate(lang, key, params) }), [lang, setLang]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  return useContext(I18nContext);
}
