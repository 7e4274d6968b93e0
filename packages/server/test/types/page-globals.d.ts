/**
 * Browser globals used inside Playwright page callbacks (`page.evaluate(() => document…)`): that code runs
 * in the page, not in Node. Declared here (tsconfig.test-dom.json only) instead of adding the DOM library,
 * which would make every Node `Response.json()` in the tests `any` and re-type node:crypto buffers in src.
 * Only the members the browser tests use.
 */
interface PageRect {
  left: number;
  right: number;
  top: number;
  bottom: number;
  width: number;
  height: number;
}
interface PageElement {
  tagName: string;
  className: string;
  innerText: string;
  scrollWidth: number;
  clientWidth: number;
  closest(selectors: string): PageElement | null;
  getBoundingClientRect(): PageRect;
}
declare type HTMLElement = PageElement;
declare type HTMLSelectElement = PageElement & { value: string };
declare const document: {
  body: PageElement;
  cookie: string;
  documentElement: PageElement;
  querySelectorAll(selectors: string): Iterable<PageElement>;
  querySelector<E extends PageElement = PageElement>(selectors: string): E | null;
};
declare const navigator: { clipboard: { readText(): Promise<string> } };
declare const localStorage: Record<string, string>;
declare const sessionStorage: Record<string, string>;
declare function getComputedStyle(el: PageElement): { overflowX: string };
