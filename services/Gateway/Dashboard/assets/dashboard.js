// The dashboard's script layer: draws the charts from the JSON the server put in the page, and follows a running
// backtest's progress through server-sent events. Everything else works without it.
(function () {
  'use strict';
  const LC = window.LightweightCharts;

  function data(id) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function chart(container, extra) {
    return LC.createChart(container, Object.assign({
      autoSize: true,
      layout: { background: { color: '#ffffff' }, textColor: '#1b1f24' },
      grid: { vertLines: { color: '#eef1f4' }, horzLines: { color: '#eef1f4' } },
      timeScale: { borderColor: '#d0d7de' },
      rightPriceScale: { borderColor: '#d0d7de' },
    }, extra || {}));
  }

  const palette = ['#0b5cad', '#9a6700', '#8250df'];

  function drawMarket(container) {
    const d = data('market-data');
    if (!d || d.candles.length === 0) return;
    const c = chart(container);
    const candles = c.addSeries(LC.CandlestickSeries, { upColor: '#1a7f37', downColor: '#cf222e', borderVisible: false, wickUpColor: '#1a7f37', wickDownColor: '#cf222e' });
    candles.setData(d.candles.map(x => ({ time: x[0], open: x[1], high: x[2], low: x[3], close: x[4] })));
    const volume = c.addSeries(LC.HistogramSeries, { priceScaleId: 'volume', priceFormat: { type: 'volume' }, color: '#8c959f' });
    volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    volume.setData(d.candles.map(x => ({ time: x[0], value: x[5], color: x[4] >= x[1] ? 'rgba(26,127,55,0.45)' : 'rgba(207,34,46,0.45)' })));
    Object.keys(d.averages).forEach((name, i) => {
      const line = c.addSeries(LC.LineSeries, { color: palette[i % palette.length], lineWidth: 1, title: name, priceLineVisible: false });
      line.setData(d.averages[name].map(p => ({ time: p[0], value: p[1] })));
    });
    if (d.predictions.length > 0) {
      const predicted = c.addSeries(LC.LineSeries, { color: '#8250df', lineWidth: 2, title: 'predicted ' + (d.target || '') }, 1);
      predicted.setData(d.predictions.map(p => ({ time: p[0], value: p[1] })));
      const realised = c.addSeries(LC.LineSeries, { color: '#1b1f24', lineWidth: 1, lineStyle: 2, title: 'realised' }, 1);
      realised.setData(d.predictions.filter(p => p[2] !== null).map(p => ({ time: p[0], value: p[2] })));
      const panes = c.panes();
      if (panes.length > 1) panes[1].setHeight(140);
    }
    c.timeScale().fitContent();
  }

  function drawEquity(container) {
    const d = data('equity-data');
    if (!d || d.curve.length === 0) return;
    const c = chart(container);
    const strategy = c.addSeries(LC.LineSeries, { color: '#0b5cad', lineWidth: 2, title: 'strategy' });
    strategy.setData(d.curve.map(p => ({ time: p[0], value: p[1] })));
    const benchmark = c.addSeries(LC.LineSeries, { color: '#9a6700', lineWidth: 1, title: 'buy-and-hold' });
    benchmark.setData(d.curve.map(p => ({ time: p[0], value: p[2] })));
    const drawdown = c.addSeries(LC.AreaSeries, { lineColor: '#cf222e', topColor: 'rgba(207,34,46,0.1)', bottomColor: 'rgba(207,34,46,0.4)', lineWidth: 1, title: 'drawdown' }, 1);
    drawdown.setData(d.curve.map(p => ({ time: p[0], value: -Math.abs(p[3]) })));
    const panes = c.panes();
    if (panes.length > 1) panes[1].setHeight(90);
    c.timeScale().fitContent();
  }

  function drawQuality(container) {
    const d = data('quality-data');
    if (!d || d.hitRate.length === 0) {
      container.textContent = 'Not enough predictions with realised outcomes yet.';
      container.classList.add('note');
      container.style.height = 'auto';
      return;
    }
    const c = chart(container);
    const hits = c.addSeries(LC.LineSeries, { color: '#1a7f37', lineWidth: 2, title: 'hit rate' });
    hits.setData(d.hitRate.map(p => ({ time: p[0], value: p[1] })));
    const errors = c.addSeries(LC.LineSeries, { color: '#cf222e', lineWidth: 1, title: 'mean abs error' }, 1);
    errors.setData(d.meanAbsError.map(p => ({ time: p[0], value: p[1] })));
    c.timeScale().fitContent();
  }

  function followBacktest(box) {
    if (box.dataset.finished === 'true' || !window.EventSource) return;
    const status = document.getElementById('bt-status');
    const progress = document.getElementById('progress');
    const source = new EventSource('/dashboard/backtests/' + encodeURIComponent(box.dataset.backtest) + '/events');
    source.addEventListener('progress', e => {
      const p = JSON.parse(e.data);
      status.textContent = p.status;
      progress.value = p.progress;
    });
    source.addEventListener('done', () => { source.close(); window.location.reload(); });
    source.addEventListener('error', () => { source.close(); window.setTimeout(() => window.location.reload(), 2000); });
  }

  const drawers = { market: drawMarket, equity: drawEquity, quality: drawQuality };
  document.querySelectorAll('[data-chart]').forEach(el => {
    const draw = drawers[el.dataset.chart];
    if (draw && LC) draw(el);
    el.dataset.drawn = 'true';
  });
  document.querySelectorAll('[data-backtest]').forEach(followBacktest);

  // The strategy picker fills the parameters with the strategy's defaults when they are still empty or untouched.
  const strategy = document.getElementById('strategy');
  const parameters = document.getElementById('parameters');
  if (strategy && parameters) {
    let filled = parameters.value === '';
    const fill = () => {
      if (!filled) return;
      parameters.value = strategy.selectedOptions[0] ? strategy.selectedOptions[0].dataset.defaults : '';
    };
    parameters.addEventListener('input', () => { filled = false; });
    strategy.addEventListener('change', fill);
    fill();
  }
}());
