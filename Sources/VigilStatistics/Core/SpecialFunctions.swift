import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few special functions the tests' p-values need.
enum SpecialFunctions {
    /// log Γ(x) for x > 0.
    static func logGamma(_ x: Double) -> Double {
        #if canImport(Glibc)
        Glibc.lgamma(x)
        #else
        Darwin.lgamma(x)
        #endif
    }

    /// Upper regularized incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a).
    ///
    /// Series for x < a + 1, Lentz continued fraction otherwise (Numerical Recipes §6.2),
    /// to about 1e-15 relative.
    static func regularizedGammaQ(_ a: Double, _ x: Double) -> Double {
        if x <= 0 { return 1 }
        if x < a + 1 { return 1 - regularizedGammaPSeries(a, x) }
        return regularizedGammaQContinuedFraction(a, x)
    }

    private static func regularizedGammaPSeries(_ a: Double, _ x: Double) -> Double {
        var term = 1 / a
        var sum = term
        var denominator = a
        for _ in 0..<100_000 {
            denominator += 1
            term *= x / denominator
            sum += term
            if abs(term) < abs(sum) * 1e-17 { break }
        }
        return sum * exp(-x + a * log(x) - logGamma(a))
    }

    private static func regularizedGammaQContinuedFraction(_ a: Double, _ x: Double) -> Double {
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1..<100_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return exp(-x + a * log(x) - logGamma(a)) * h
    }

    /// Survival function of the chi-square distribution with `degrees` degrees of freedom.
    static func chiSquareSurvival(_ statistic: Double, degrees: Double) -> Double {
        regularizedGammaQ(degrees / 2, statistic / 2)
    }

    /// Survival function of the standard normal distribution, accurate far into the tail.
    static func normalSurvival(_ z: Double) -> Double {
        0.5 * erfc(z / 2.0.squareRoot())
    }

    /// Regularized incomplete beta function I_x(a, b), by Lentz's continued fraction
    /// (Numerical Recipes §6.4), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where it converges faster.
    static func regularizedBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let front = exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * log(x) + b * log(1 - x))
        if x < (a + 1) / (a + b + 2) { return front * betaContinuedFraction(x, a, b) / a }
        return 1 - front * betaContinuedFraction(1 - x, b, a) / b
    }

    private static func betaContinuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1..<10_000 {
            let m = Double(m)
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + even * d
            if abs(d) < tiny { d = tiny }
            c = 1 + even / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + odd * d
            if abs(d) < tiny { d = tiny }
            c = 1 + odd / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return h
    }

    /// Two-sided p-value of Student's t statistic with `degrees` degrees of freedom.
    static func studentTTwoSided(_ t: Double, degrees: Double) -> Double {
        guard t.isFinite else { return t.isNaN ? .nan : 0 }
        return regularizedBeta(degrees / (degrees + t * t), degrees / 2, 0.5)
    }

    /// P(X ≤ k) for X ~ Binomial(n, 1/2), summed in log space.
    static func binomialHalfCDF(_ k: Int, _ n: Int) -> Double {
        guard k >= 0 else { return 0 }
        guard k < n else { return 1 }
        let logHalfN = Double(n) * log(0.5)
        var total = 0.0
        for i in 0...k {
            total += exp(logGamma(Double(n + 1)) - logGamma(Double(i + 1)) - logGamma(Double(n - i + 1)) + logHalfN)
        }
        return min(1, total)
    }
}
