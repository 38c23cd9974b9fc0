/*
 * Prints TA-Lib reference values for a deterministic OHLCV series.
 *
 * Output (CSV, one record a line):
 *   bar,<index>,<open>,<high>,<low>,<close>,<volume>
 *   ref,<function>,<index>,<value>
 * Values are printed with 17 significant digits so they round-trip exactly to doubles.
 * The series is a random walk from a 64-bit LCG, so the C# tests read the bars back from
 * this file instead of regenerating them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include "ta_libc.h"

#define N 3000

static double o[N], h[N], l[N], c[N], v[N];
static double out1[N], out2[N], out3[N];
static int outIdx[N];

static unsigned long long state = 0x9E3779B97F4A7C15ULL;
static double uniform(void)
{
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(state >> 11) / 9007199254740992.0; /* [0,1) */
}

static void generate(void)
{
    double price = 100.0;
    for (int i = 0; i < N; i++) {
        double open = price * (1.0 + (uniform() - 0.5) * 0.004);
        double close = open * (1.0 + (uniform() - 0.5) * 0.04);
        double hi = (open > close ? open : close) * (1.0 + uniform() * 0.01);
        double lo = (open < close ? open : close) * (1.0 - uniform() * 0.01);
        o[i] = open; h[i] = hi; l[i] = lo; c[i] = close;
        v[i] = floor(500000.0 + uniform() * 1000000.0);
        price = close;
    }
}

static void emit(const char *name, TA_RetCode rc, int beg, int count, const double *values)
{
    if (rc != TA_SUCCESS) {
        fprintf(stderr, "%s failed with TA_RetCode %d\n", name, (int)rc);
        exit(2);
    }
    for (int k = 0; k < count; k++)
        printf("ref,%s,%d,%.17g\n", name, beg + k, values[k]);
}

static void emitIdx(const char *name, TA_RetCode rc, int beg, int count, const int *values)
{
    if (rc != TA_SUCCESS) {
        fprintf(stderr, "%s failed with TA_RetCode %d\n", name, (int)rc);
        exit(2);
    }
    for (int k = 0; k < count; k++)
        printf("ref,%s,%d,%d\n", name, beg + k, values[k]);
}

#define SINGLE(name, call) do { int b = 0, n = 0; TA_RetCode rc = call; emit(name, rc, b, n, out1); } while (0)

int main(void)
{
    if (TA_Initialize() != TA_SUCCESS) { fprintf(stderr, "TA_Initialize failed\n"); return 2; }
    generate();
    for (int i = 0; i < N; i++)
        printf("bar,%d,%.17g,%.17g,%.17g,%.17g,%.17g\n", i, o[i], h[i], l[i], c[i], v[i]);

    const int last = N - 1;
    SINGLE("sma_20", TA_SMA(0, last, c, 20, &b, &n, out1));
    SINGLE("ema_20", TA_EMA(0, last, c, 20, &b, &n, out1));
    SINGLE("wma_20", TA_WMA(0, last, c, 20, &b, &n, out1));
    SINGLE("dema_20", TA_DEMA(0, last, c, 20, &b, &n, out1));
    SINGLE("tema_20", TA_TEMA(0, last, c, 20, &b, &n, out1));
    SINGLE("rsi_14", TA_RSI(0, last, c, 14, &b, &n, out1));
    SINGLE("rsi_2", TA_RSI(0, last, c, 2, &b, &n, out1));
    SINGLE("atr_14", TA_ATR(0, last, h, l, c, 14, &b, &n, out1));
    SINGLE("natr_14", TA_NATR(0, last, h, l, c, 14, &b, &n, out1));
    SINGLE("adx_14", TA_ADX(0, last, h, l, c, 14, &b, &n, out1));
    SINGLE("plus_di_14", TA_PLUS_DI(0, last, h, l, c, 14, &b, &n, out1));
    SINGLE("minus_di_14", TA_MINUS_DI(0, last, h, l, c, 14, &b, &n, out1));
    SINGLE("cci_20", TA_CCI(0, last, h, l, c, 20, &b, &n, out1));
    SINGLE("willr_14", TA_WILLR(0, last, h, l, c, 14, &b, &n, out1));
    SINGLE("obv", TA_OBV(0, last, c, v, &b, &n, out1));
    SINGLE("mfi_14", TA_MFI(0, last, h, l, c, v, 14, &b, &n, out1));
    SINGLE("roc_10", TA_ROC(0, last, c, 10, &b, &n, out1));
    SINGLE("mom_10", TA_MOM(0, last, c, 10, &b, &n, out1));
    SINGLE("std_20", TA_STDDEV(0, last, c, 20, 1.0, &b, &n, out1));
    SINGLE("max_20", TA_MAX(0, last, c, 20, &b, &n, out1));
    SINGLE("min_20", TA_MIN(0, last, c, 20, &b, &n, out1));
    SINGLE("corr_close_volume_20", TA_CORREL(0, last, c, v, 20, &b, &n, out1));
    SINGLE("linreg_slope_20", TA_LINEARREG_SLOPE(0, last, c, 20, &b, &n, out1));
    SINGLE("linreg_20", TA_LINEARREG(0, last, c, 20, &b, &n, out1));

    { int b = 0, n = 0; TA_RetCode rc = TA_MAXINDEX(0, last, c, 20, &b, &n, outIdx); emitIdx("maxindex_20", rc, b, n, outIdx); }
    { int b = 0, n = 0; TA_RetCode rc = TA_MININDEX(0, last, c, 20, &b, &n, outIdx); emitIdx("minindex_20", rc, b, n, outIdx); }
    {
        int b = 0, n = 0;
        TA_RetCode rc = TA_MACD(0, last, c, 12, 26, 9, &b, &n, out1, out2, out3);
        emit("macd_12_26_9", rc, b, n, out1);
        emit("macd_signal_12_26_9", rc, b, n, out2);
        emit("macd_hist_12_26_9", rc, b, n, out3);
    }
    {
        int b = 0, n = 0;
        TA_RetCode rc = TA_BBANDS(0, last, c, 20, 2.0, 2.0, TA_MAType_SMA, &b, &n, out1, out2, out3);
        emit("bb_upper_20_2", rc, b, n, out1);
        emit("bb_middle_20_2", rc, b, n, out2);
        emit("bb_lower_20_2", rc, b, n, out3);
    }
    {
        int b = 0, n = 0;
        TA_RetCode rc = TA_STOCH(0, last, h, l, c, 14, 3, TA_MAType_SMA, 3, TA_MAType_SMA, &b, &n, out1, out2);
        emit("stoch_k_14_3_3", rc, b, n, out1);
        emit("stoch_d_14_3_3", rc, b, n, out2);
    }
    TA_Shutdown();
    return 0;
}
