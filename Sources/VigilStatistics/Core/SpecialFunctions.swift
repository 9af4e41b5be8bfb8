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
}
