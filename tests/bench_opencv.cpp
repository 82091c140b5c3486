// The imgpipe pipeline done with OpenCV, for a speed comparison (not bit-exact with
// imgpipe: OpenCV's fixed-point Gaussian and bilinear rounding differ).
//
//   point: cv::LUT with brightness +20 then contrast 1.2 composed into one table
//          (the same formulas as host/spec.c)
//   blur:  cv::GaussianBlur 13x13, sigma 2, BORDER_REPLICATE
//   resize cv::resize to half size, INTER_LINEAR
//
// on a 3840x2160 CV_8UC3 image, with cv::setNumThreads(N) for N = 1 and 2: warm-up,
// then the median of the repetitions, printed as input megapixels per second.
//
// Build: cmake -B build -DIMGPIPE_OPENCV_COMPARE=ON && cmake --build build --target
// bench_opencv; run: ./build/bench_opencv [reps] [width height].
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace {

uint8_t clamp_u8(int v)
{
    return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// brightness b then contrast c, as in img_plan_init's point_lut.
cv::Mat point_lut(int b, double c)
{
    const int C = static_cast<int>(std::lround(c * 256.0));
    cv::Mat lut(1, 256, CV_8U);
    for (int i = 0; i < 256; i++) {
        int v = clamp_u8(i + b);
        // >> of a negative int is arithmetic with GCC and Clang, as the spec assumes.
        v = clamp_u8(128 + (((v - 128) * C + 128) >> 8));
        lut.at<uint8_t>(0, i) = static_cast<uint8_t>(v);
    }
    return lut;
}

// The same kind of content as the imgpipe timing program: ramps plus noise.
cv::Mat make_image(int w, int h)
{
    cv::Mat img(h, w, CV_8UC3);
    uint32_t s = 12345;
    for (int y = 0; y < h; y++) {
        uint8_t *row = img.ptr<uint8_t>(y);
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                s = s * 1664525u + 1013904223u;
                row[3 * x + c] =
                    static_cast<uint8_t>(((x * 3 + y * 5 + c * 40) & 255) / 2 + (s >> 25));
            }
    }
    return img;
}

}  // namespace

int main(int argc, char **argv)
{
    const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 21;
    const int w = argc > 3 ? std::atoi(argv[2]) : 3840, h = argc > 3 ? std::atoi(argv[3]) : 2160;
    const cv::Mat src = make_image(w, h);
    const cv::Mat lut = point_lut(20, 1.2);
    const cv::Size out_size(static_cast<int>(std::lround(w * 0.5)),
                            static_cast<int>(std::lround(h * 0.5)));
    cv::Mat a, b, out;
    const double mp = static_cast<double>(w) * h / 1e6;

    std::printf("OpenCV %s, %dx%d CV_8UC3 -> %dx%d, median of %d\n", CV_VERSION, w, h,
                out_size.width, out_size.height, reps);
    for (int threads : {1, 2}) {
        cv::setNumThreads(threads);
        std::vector<double> t;
        for (int i = 0; i < reps + 3; i++) {
            auto t0 = std::chrono::steady_clock::now();
            cv::LUT(src, lut, a);
            cv::GaussianBlur(a, b, cv::Size(13, 13), 2.0, 2.0, cv::BORDER_REPLICATE);
            cv::resize(b, out, out_size, 0, 0, cv::INTER_LINEAR);
            auto t1 = std::chrono::steady_clock::now();
            if (i >= 3)   // the first runs are warm-up (allocation, thread start)
                t.push_back(std::chrono::duration<double>(t1 - t0).count());
        }
        std::sort(t.begin(), t.end());
        const double med = t[t.size() / 2];
        std::printf("opencv %d thread%s  %8.2f ms  %8.1f MP/s  (min %.1f MP/s)\n", threads,
                    threads == 1 ? " " : "s", med * 1e3, mp / med, mp / t.front());
    }
    return 0;
}
