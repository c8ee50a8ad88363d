"""Parameter counts of the authors' MobileViTv2 models
(shared/reference/mobilevitv2-facts.md), shared by the backbone and the
config tests."""

# ml-cvnets models built with random weights (facts sheet): ImageNet
# classifier (1000 classes), SSDLite COCO (80 classes + background),
# DeepLabv3 VOC OS16 ASPP 512 with and without the auxiliary head
PARAMS = {
    '0.5': (1_370_593, 2_035_395, 6_466_467, 6_242_318),
    '0.75': (2_866_009, 3_584_955, 9_845_019, 9_510_278),
    '1.0': (4_901_841, 5_608_883, 13_763_987, 13_318_654),
    '1.25': (7_478_089, 8_173_227, 18_223_371, 17_667_446),
    '1.5': (10_594_753, 11_277_987, 23_306_483, 22_556_654),
    '1.75': (14_251_833, 14_923_163, 29_006_227, 27_986_278),
    '2.0': (18_449_329, 19_108_755, 35_287_859, 33_956_318),
}
